import assert from "node:assert/strict";
import { ignoreWithoutNats, NatsServer } from "../nats_server.ts";

const RUN = new URL("../../examples/nats/run.ts", import.meta.url).pathname;

Deno.test({
  name: "examples/nats: 3 hosts move every published message to the output stream once",
  ignore: ignoreWithoutNats,
  fn: async () => {
    await using server = await NatsServer.start();
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", RUN, "--url", server.url, "--messages", "3000", "--hosts", "3"],
      env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(stdout);
    assert.equal(code, 0, `${out}\n${new TextDecoder().decode(stderr)}`);
    assert.match(out, /OUT holds 3000: lost 0, duplicates 0/);
  },
});
