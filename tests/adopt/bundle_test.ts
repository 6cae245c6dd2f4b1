import assert from "node:assert/strict";

const repo = new URL("../..", import.meta.url).pathname;
const GREETER = new URL("../../examples/greeter/plugin.ts", import.meta.url).pathname;
// The bundle carries Bulkhead inside one file, so it cannot tell where a clone's
// SDK sources are: a plugin importing them from outside its folder widens its root.
const REPO = new URL("../../", import.meta.url).pathname;

async function deno(args: string[], cwd: string) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
}

Deno.test("deno task bundle makes one .js file that runs the bulkhead command", async (t) => {
  const config = JSON.parse(await Deno.readTextFile(`${repo}/deno.json`));
  const task: string = config.tasks.bundle;
  assert.match(task, /^deno bundle --platform deno -o \S+ cli\.ts$/);
  const dir = await Deno.makeTempDir({ prefix: "bulkhead-bundle-" });
  try {
    const file = `${dir}/bulkhead.js`;
    const bundle = await deno(["bundle", "--platform", "deno", "-o", file, "cli.ts"], repo);
    assert.equal(bundle.code, 0, bundle.err);
    // run from elsewhere, with no configuration: the file is all it needs
    await t.step("--help", async () => {
      const help = await deno(["run", "-A", "--no-config", file, "--help"], dir);
      assert.equal(help.code, 0, help.err);
      assert.match(help.out, /^bulkhead — /);
    });
    await t.step("health of a sandboxed Deno plugin", async () => {
      const health = await deno([
        "run",
        "-A",
        "--no-config",
        file,
        "health",
        "--module-root",
        REPO,
        "--",
        GREETER,
      ], dir);
      assert.equal(health.code, 0, health.err);
      assert.equal(health.out, "SERVING\n");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
