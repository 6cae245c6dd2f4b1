import assert from "node:assert/strict";
import { serveRepo } from "./_repo_server.ts";

const repo = new URL("../..", import.meta.url);

/** Runs deno from an empty directory outside the repository, with no configuration. */
async function denoOutside(args: string[], stdin?: string) {
  const cwd = await Deno.makeTempDir({ prefix: "bulkhead-example-" });
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [args[0]!, "--no-config", ...args.slice(1)],
      cwd,
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(stdin));
      await writer.close();
    }
    const { code, stdout, stderr } = await child.output();
    return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

Deno.test("examples run from outside the clone, with no configuration", async (t) => {
  await t.step("greeter host at a file: URL", async () => {
    const host = new URL("examples/greeter/host.ts", repo).href;
    const { code, out, err } = await denoOutside(["run", "-A", host, "Barbara"]);
    assert.equal(code, 0, err);
    assert.match(out, /Hello, Barbara!/);
  });
  await t.step("greeter host at an http://127.0.0.1 URL (its plugin is remote too)", async () => {
    await using server = serveRepo();
    const host = `${server.url}/examples/greeter/host.ts`;
    const { code, out, err } = await denoOutside(["run", "-A", host, "Barbara"]);
    assert.equal(code, 0, err);
    assert.match(out, /Hello, Barbara!/);
  });
  await t.step("uppercase pipeline by path", async () => {
    const { code, out, err } = await denoOutside(
      [
        "run",
        "-A",
        new URL("cli.ts", repo).pathname,
        "run",
        "--quiet",
        new URL("examples/uppercase/pipeline.yaml", repo).pathname,
      ],
      "hello\nworld\n",
    );
    assert.equal(code, 0, err);
    assert.equal(out, "HELLO\nWORLD\n");
  });
});
