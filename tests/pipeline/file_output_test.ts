/**
 * The `file` output's modes and repairs (`src/pipeline/file_output.ts`),
 * in real pipelines.
 *
 * @module
 */
import assert from "node:assert/strict";
import { runPipeline } from "../../mod.ts";
import { OutputFileExistsError } from "../../src/pipeline/file_output.ts";
import { config, EXAMPLES, lines, tempDir } from "./_pipeline.ts";

const generate = (count: number) =>
  `input: { generate: { count: ${count}, message: "m\${! i }" } }`;

Deno.test("runPipeline() refuses to overwrite a non-empty output file unless its mode says so", async (t) => {
  await using dir = await tempDir();
  const out = `${dir.path}/out.txt`;
  await Deno.writeTextFile(out, "an earlier run\n");
  await t.step("no mode: refused, naming the field and the ways out", async () => {
    const error = await runPipeline(
      config(`${generate(3)}\noutput: { file: { path: out.txt } }\n`, dir.path),
    ).catch((e) => e);
    assert.ok(error instanceof OutputFileExistsError, String(error));
    assert.match(error.message, /already holds 15 bytes; set output\.file\.mode to append/);
    assert.match(error.message, /or truncate \(replace them\), or run with --resume/);
    assert.equal(await Deno.readTextFile(out), "an earlier run\n");
  });
  await t.step("a dead-letter file too", async () => {
    await Deno.writeTextFile(`${dir.path}/dead.jsonl`, "{}\n");
    const error = await runPipeline(
      config(
        `${generate(3)}\noutput: drop\ndead_letter: { file: { path: dead.jsonl } }\n`,
        dir.path,
      ),
    ).catch((e) => e);
    assert.ok(error instanceof OutputFileExistsError, String(error));
    assert.match(error.message, /set dead_letter\.file\.mode to append/);
  });
  await t.step("append: written after it", async () => {
    const summary = await runPipeline(
      config(`${generate(2)}\noutput: { file: { path: out.txt, mode: append } }\n`, dir.path),
    );
    assert.equal(summary.status, "completed", summary.error);
    assert.deepEqual(await lines(out), ["an earlier run", "m1", "m2"]);
  });
  await t.step("truncate: replaced", async () => {
    const summary = await runPipeline(
      config(`${generate(2)}\noutput: { file: { path: out.txt, mode: truncate } }\n`, dir.path),
    );
    assert.equal(summary.status, "completed", summary.error);
    assert.deepEqual(await lines(out), ["m1", "m2"]);
  });
});

Deno.test("runPipeline() leaves the previous output alone when a plugin fails to start", async () => {
  await using dir = await tempDir();
  const out = `${dir.path}/out.txt`;
  await Deno.writeTextFile(out, "yesterday's results\n");
  await Deno.writeTextFile(`${dir.path}/broken.ts`, "Deno.exit(3);\n");
  const error = await runPipeline(
    config(
      `
${generate(10)}
processors:
  - plugin: { module: ${EXAMPLES}uppercase/plugin.ts }
  - plugin: { module: broken.ts, restart: { max_crashes: 1 } }
output: { file: { path: out.txt, mode: truncate } }
`,
      dir.path,
    ),
    { logger: () => {} },
  ).catch((e) => e);
  assert.ok(error instanceof Error, "the run started");
  assert.match(error.message, /broken/);
  assert.equal(await Deno.readTextFile(out), "yesterday's results\n");
});

Deno.test("runPipeline() cuts a torn last line left by a crash before appending, and says how many bytes", async () => {
  await using dir = await tempDir();
  const out = `${dir.path}/out.txt`;
  const torn = "m3-and-then-the-host-was-kil";
  await Deno.writeTextFile(out, `m1\nm2\n${torn}`);
  const notices: string[] = [];
  const summary = await runPipeline(
    config(`${generate(2)}\noutput: { file: { path: out.txt, mode: append } }\n`, dir.path),
    { onNotice: (text) => notices.push(text) },
  );
  assert.equal(summary.status, "completed", summary.error);
  assert.deepEqual(await lines(out), ["m1", "m2", "m1", "m2"]);
  assert.deepEqual(notices, [
    `${out}: cut a torn last line of ${torn.length} bytes (left by an earlier crash)`,
  ]);
});
