import assert from "node:assert/strict";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const PIPELINE = new URL("../../examples/uppercase/pipeline.yaml", import.meta.url).pathname;

Deno.test("examples/uppercase: bulkhead run upper-cases stdin lines to stdout", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "run", "--quiet", PIPELINE],
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("hello\nplugin world\nno newline at the end"));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.equal(new TextDecoder().decode(stdout), "HELLO\nPLUGIN WORLD\nNO NEWLINE AT THE END\n");
});
