import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { readmeSteps } from "./_readme_section.ts";
import { serveRepo } from "./_repo_server.ts";

const repo = new URL("../..", import.meta.url);
const SECTION = "## Use it in your project";

/**
 * Follows the README's "Use it in your project" as a new user would: in an
 * empty temporary directory outside the repository, with a `deno` on PATH,
 * `$BULKHEAD` set to `bulkhead`, and `deno install -g` writing to a
 * temporary root (DENO_INSTALL_ROOT) whose bin/ is on PATH. Files are
 * written as the README shows them; every ```sh block runs in bash and its
 * stdout must be the ```text block after it.
 */
async function followReadme(bulkhead: string): Promise<number> {
  const steps = readmeSteps(await Deno.readTextFile(new URL("README.md", repo)), SECTION);
  const dir = await Deno.makeTempDir({ prefix: "bulkhead-adopt-" });
  const root = join(dir, ".install");
  const project = join(dir, "project");
  await Deno.mkdir(project);
  const env = {
    PATH: `${root}/bin:${dirname(Deno.execPath())}:/usr/bin:/bin`,
    HOME: Deno.env.get("HOME") ?? dir,
    DENO_INSTALL_ROOT: root,
    BULKHEAD: bulkhead,
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
    RUST_BACKTRACE: "0",
    ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
  };
  let ran = 0;
  try {
    for (const step of steps) {
      if (step.kind === "file") {
        const path = join(project, step.path);
        await Deno.mkdir(dirname(path), { recursive: true });
        await Deno.writeTextFile(path, step.text.replaceAll("$BULKHEAD", bulkhead));
        continue;
      }
      const { code, stdout, stderr } = await new Deno.Command("/bin/bash", {
        args: ["-euo", "pipefail", "-c", step.script],
        cwd: project,
        env,
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const out = new TextDecoder().decode(stdout);
      const err = new TextDecoder().decode(stderr);
      assert.equal(code, 0, `README step failed (exit ${code}):\n${step.script}\n${err}`);
      if (step.expected !== undefined) {
        assert.equal(out.trim(), step.expected.trim(), `output of:\n${step.script}\n${err}`);
      }
      ran++;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return ran;
}

Deno.test("README 'Use it in your project' works from outside the repository", async (t) => {
  await t.step("with Bulkhead at a file: URL", async () => {
    assert.ok(await followReadme(repo.href.replace(/\/$/, "")) >= 4);
  });
  await t.step("with Bulkhead at an http://127.0.0.1 URL", async () => {
    await using server = serveRepo();
    assert.ok(await followReadme(server.url) >= 4);
    assert.ok(server.requests.includes("/mod.ts") && server.requests.includes("/plugin.ts"));
  });
});
