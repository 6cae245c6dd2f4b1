/**
 * What `bulkhead run` tells about a run: the summary (`--json` for scripts),
 * and nothing with `--quiet`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { EXAMPLES, lines, tempDir } from "./_pipeline.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const MOD = new URL("../../plugin.ts", import.meta.url).href;

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "run", ...args],
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

Deno.test("bulkhead run --json prints a parseable summary with the run's counts", async (t) => {
  await using dir = await tempDir();
  // flags every 100th message: those are dead-lettered, the rest written
  await Deno.writeTextFile(
    `${dir.path}/flag.ts`,
    `import { serveProcessor } from "${MOD}";
await serveProcessor((batch) => {
  for (const m of batch) if (Number(m.text.slice(1)) % 100 === 0) m.error = "a round number";
});
`,
  );

  await t.step("on stdout when the output is not stdout", async () => {
    await Deno.writeTextFile(
      `${dir.path}/pipeline.yaml`,
      `
input: { generate: { count: 1000, message: "m\${! i }" } }
batching: { count: 100 }
processors:
  - plugin: { module: flag.ts }
output: { file: { path: out.txt } }
dead_letter: { file: { path: dead.jsonl } }
`,
    );
    const { code, stdout, stderr } = await run(["--json", `${dir.path}/pipeline.yaml`]);
    assert.equal(code, 0, stderr);
    const summary = JSON.parse(stdout);
    assert.equal(summary.file, `${dir.path}/pipeline.yaml`);
    assert.equal(summary.status, "completed");
    assert.equal(summary.error, undefined);
    assert.equal(summary.messagesIn, 1000);
    assert.equal(summary.messagesOut, 990);
    assert.equal(summary.deadLetters, 10);
    assert.equal(summary.batches, 10);
    assert.equal(summary.inFlight, 0);
    assert.equal(typeof summary.elapsedMs, "number");
    assert.equal(typeof summary.messagesPerSecond, "number");
    assert.equal(summary.stages.length, 1);
    assert.equal(summary.stages[0].name, "flag");
    assert.equal(summary.stages[0].processes, 1);
    assert.equal(summary.stages[0].calls, 10);
    assert.equal(summary.stages[0].restarts, 0);
    assert.doesNotMatch(stderr, /completed|messages:/, "the human summary was printed too");
    assert.equal((await lines(`${dir.path}/out.txt`)).length, 990);
    assert.equal((await lines(`${dir.path}/dead.jsonl`)).length, 10);
  });

  await t.step("as the last line of stderr when the output is stdout", async () => {
    await Deno.writeTextFile(
      `${dir.path}/stdout.yaml`,
      `input: { generate: { count: 5, message: "m\${! i }" } }\noutput: stdout\n`,
    );
    const { code, stdout, stderr } = await run(["--json", `${dir.path}/stdout.yaml`]);
    assert.equal(code, 0, stderr);
    assert.equal(stdout, "m1\nm2\nm3\nm4\nm5\n");
    const summary = JSON.parse(stderr.trim().split("\n").at(-1)!);
    assert.equal(summary.status, "completed");
    assert.equal(summary.messagesIn, 5);
    assert.equal(summary.messagesOut, 5);
    assert.deepEqual(summary.stages, []);
  });
});

Deno.test("bulkhead run --quiet prints no progress and no summary", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/pipeline.yaml`,
    `
input: { generate: { count: 1000, message: "m\${! i }" } }
batching: { count: 10 }
processors:
  - plugin: { module: ${EXAMPLES}uppercase/plugin.ts }
output: { file: { path: out.txt } }
`,
  );
  const quiet = await run(["--quiet", `${dir.path}/pipeline.yaml`]);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.equal(quiet.stderr, "");
  assert.equal(quiet.stdout, "");
  assert.deepEqual(
    await lines(`${dir.path}/out.txt`),
    Array.from({ length: 1000 }, (_, i) => `M${i + 1}`),
  );
  // the same run without --quiet (replacing the output) ends with the summary on stderr
  const yaml = await Deno.readTextFile(`${dir.path}/pipeline.yaml`);
  await Deno.writeTextFile(
    `${dir.path}/again.yaml`,
    yaml.replace("{ path: out.txt }", "{ path: out.txt, mode: truncate }"),
  );
  const loud = await run([`${dir.path}/again.yaml`]);
  assert.equal(loud.code, 0, loud.stderr);
  assert.match(loud.stderr, /again\.yaml: completed in [\d.]+ s\n/);
  assert.match(
    loud.stderr,
    /messages: 1,000 in, 1,000 out, 0 dead-lettered, 0 filtered, 100 batches/,
  );
  assert.match(loud.stderr, /uppercase: 1 process, 100 calls/);
  assert.equal(loud.stdout, "");
});

Deno.test("bulkhead run --check validates, shows what each plugin may touch, and starts nothing", async () => {
  await using dir = await tempDir();
  // the plugin leaves a mark when it starts: --check must not start it
  await Deno.writeTextFile(
    `${dir.path}/marking.ts`,
    `import { serveProcessor } from "${MOD}";
await Deno.writeTextFile("${dir.path}/started", "yes");
await serveProcessor(() => {});
`,
  );
  await Deno.writeTextFile(
    `${dir.path}/pipeline.yaml`,
    `
input: { generate: { count: 10, message: "m\${! i }" } }
processors:
  - plugin:
      module: ./marking.ts
      processes: 2
      permissions: { write: ["${dir.path}"], unsafe_run: true }
      limits: { heap_mb: 64 }
output: drop
`,
  );
  const result = await run(["--check", `${dir.path}/pipeline.yaml`]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /pipeline\.yaml: ok\n/);
  assert.match(
    result.stdout,
    /processor +marking: module .*marking\.ts, handshake go-plugin, 2 processes/,
  );
  assert.match(result.stdout, new RegExp(`may use write ${dir.path}; unsafe_run`));
  assert.match(result.stdout, new RegExp(`unsafe_run, module root ${dir.path}, WARNING`));
  assert.match(result.stdout, /WARNING: may run programs, which are not sandboxed/);
  assert.match(result.stdout, /limits heap_mb 64/);
  assert.match(result.stdout, /output +drop/);
  await assert.rejects(Deno.stat(`${dir.path}/started`), Deno.errors.NotFound);
});
