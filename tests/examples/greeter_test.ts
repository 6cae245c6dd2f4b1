import assert from "node:assert/strict";

Deno.test("examples/greeter: the host starts the plugin, greets, and stops it", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../examples/greeter/host.ts", import.meta.url).href, "Barbara"],
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
  }).output();
  const out = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.match(out, /^Hello, Ada!/);
  assert.match(out, /Hello, Barbara!/);
  assert.match(out, /is SERVING/);
  assert.match(out, /plugin stopped: exit code 0/);
});

Deno.test("examples/greeter: the plugin run by hand explains itself and exits 1", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", new URL("../../examples/greeter/plugin.ts", import.meta.url).href],
    env: { NO_COLOR: "1" },
  }).output();
  assert.equal(code, 1);
  assert.equal(stdout.length, 0);
  assert.match(new TextDecoder().decode(stderr), /meant to be started by its host application/);
});
