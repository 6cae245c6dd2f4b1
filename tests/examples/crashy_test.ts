import assert from "node:assert/strict";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const EXAMPLE = new URL("../../examples/crashy/", import.meta.url).pathname;

async function run(file: string) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "run", "--json", `${EXAMPLE}${file}`],
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(stderr).trimEnd().split("\n");
  return {
    code,
    out: new TextDecoder().decode(stdout).trimEnd().split("\n"),
    err,
    summary: JSON.parse(err.at(-1)!),
  };
}

Deno.test("examples/crashy: 100 000 messages arrive, once each, though the plugin segfaults", async () => {
  const { code, out, err, summary } = await run("pipeline.yaml");
  assert.equal(code, 0, err.join("\n"));
  assert.equal(out.length, 100_000);
  out.forEach((line, i) => {
    if (line !== `MESSAGE ${i + 1}`) assert.fail(`line ${i + 1} is ${line}`);
  });
  assert.equal(summary.status, "completed");
  assert.ok(summary.stages[0].restarts >= 10, JSON.stringify(summary));
});

Deno.test("examples/crashy demo: the poison messages alone go to the dead-letter output", async () => {
  const { code, out, err, summary } = await run("demo.yaml");
  assert.equal(code, 0, err.join("\n"));
  assert.equal(out.length, 10);
  assert.ok(out.every((line) => line === line.toUpperCase() && !line.includes("POISON")));
  const dead = err.filter((l) => l.startsWith('{"stage"')).map((l) => JSON.parse(l));
  assert.deepEqual(dead.map((d) => d.message), ["5: a poison pill", "11: a poison pill"]);
  assert.equal(summary.deadLetters, 2);
});
