/**
 * The recipe `plugin.ts` documents for a faster start: a plugin bundled with
 * `deno bundle --platform deno --code-splitting` (its SDK, protobuf-es and
 * Connect inside, one copy each; the transports it does not use still
 * loaded on demand) runs under a Bulkhead host like its source.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Plugin } from "../../mod.ts";
import { GreeterService } from "../../src/gen/bulkhead/examples/greeter/v1/greeter_pb.ts";

const GREETER = new URL("../../examples/greeter/plugin.ts", import.meta.url).pathname;

Deno.test("a plugin bundled with deno bundle --code-splitting serves as its source does", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bulkhead-bundled-plugin-" });
  try {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--platform", "deno", "--code-splitting", "--outdir", dir, GREETER],
      env: { NO_COLOR: "1" },
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const files = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.ok(files.includes("plugin.js"), files.join(", "));
    // lazy imports stay lazy: the Node.js HTTP/2 transport is a chunk of its own
    const entry = await Deno.readTextFile(`${dir}/plugin.js`);
    assert.doesNotMatch(entry, /node:http2/);

    await using plugin = await Plugin.start({ module: `${dir}/plugin.js`, logger: () => {} });
    const greeter = plugin.client(GreeterService);
    assert.equal((await greeter.greet({ name: "Ada" })).greeting, "Hello, Ada!");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
