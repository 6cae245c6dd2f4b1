/**
 * Which `deno` runs Deno plugins: the host's own Deno, `BULKHEAD_DENO`, or,
 * for a `deno compile`d host (whose executable is itself), `deno` on PATH.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ENV_DENO, resolveDenoExecutable } from "../../src/host/deno_command.ts";

const facts = {
  explicit: undefined,
  standalone: false,
  execPath: "/usr/bin/deno",
  path: "/nowhere:/usr/local/bin:/usr/bin",
  isFile: (p: string) => p === "/usr/local/bin/deno",
};

Deno.test("resolveDenoExecutable: own Deno, BULKHEAD_DENO, PATH when compiled, else a clear error", () => {
  assert.equal(resolveDenoExecutable(facts), "/usr/bin/deno");
  assert.equal(resolveDenoExecutable({ ...facts, explicit: "/opt/deno" }), "/opt/deno");
  const compiled = { ...facts, standalone: true, execPath: "/opt/bulkhead" };
  assert.equal(resolveDenoExecutable(compiled), "/usr/local/bin/deno");
  assert.equal(resolveDenoExecutable({ ...compiled, explicit: "/opt/deno" }), "/opt/deno");
  assert.throws(
    () => resolveDenoExecutable({ ...compiled, isFile: () => false }),
    /compiled binary \(\/opt\/bulkhead\) and no deno was found on PATH.*BULKHEAD_DENO/,
  );
});

Deno.test("a host runs Deno plugins with the deno that BULKHEAD_DENO names", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bulkhead-deno-exe-" });
  try {
    const log = `${dir}/calls.log`;
    const wrapper = `${dir}/my-deno`;
    await Deno.writeTextFile(
      wrapper,
      `#!/bin/sh\necho "$1" >> '${log}'\nexec '${Deno.execPath()}' "$@"\n`,
    );
    await Deno.chmod(wrapper, 0o755);
    const host = `${dir}/host.ts`;
    await Deno.writeTextFile(
      host,
      `import { Plugin } from "${new URL("../../mod.ts", import.meta.url).href}";
await using plugin = await Plugin.start({
  module: "${new URL("../../examples/greeter/plugin.ts", import.meta.url).href}",
  logger: () => {},
});
console.log(await plugin.health());
`,
    );
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", host],
      env: { [ENV_DENO]: wrapper, NO_COLOR: "1", RUST_BACKTRACE: "0" },
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    assert.equal(new TextDecoder().decode(stdout).trim(), "SERVING");
    const calls = (await Deno.readTextFile(log)).trim().split("\n");
    // the host's own tools through it too: deno info for the module graph (one listing per
    // start; a graph of local and npm modules needs no deno cache), and for Deno's cache
    // directory where the host cannot tell it (no DENO_DIR, not Linux's default)
    assert.equal(calls.at(-1), "run", calls.join(", "));
    const tools = calls.slice(0, -1);
    assert.ok(tools.every((c) => c === "info") && [1, 2].includes(tools.length), calls.join(", "));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
