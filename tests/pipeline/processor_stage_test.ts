/**
 * What a processor stage makes of messages it cannot send and of answers
 * with fewer messages (`src/pipeline/processor_stage.ts`), in real pipelines.
 *
 * @module
 */
import assert from "node:assert/strict";
import { runPipeline } from "../../mod.ts";
import { config, EXAMPLES, lines, tempDir } from "./_pipeline.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;

Deno.test("runPipeline() dead-letters a message over max_message_bytes at once, as RESOURCE_EXHAUSTED, and crashes nothing", async () => {
  await using dir = await tempDir();
  const big = "x".repeat(5 * 1024 * 1024);
  await Deno.writeTextFile(`${dir.path}/in.txt`, `a\nb\n${big}\nc\n`);
  const summary = await runPipeline(
    config(
      `
input: { file: { path: in.txt } }
batching: { count: 10 }
processors:
  - plugin: { module: ${EXAMPLES}uppercase/plugin.ts }
output: { file: { path: out.txt } }
dead_letter: { file: { path: dead.jsonl } }
`,
      dir.path,
    ),
    { logger: () => {} },
  );
  assert.equal(summary.status, "completed", summary.error);
  assert.deepEqual(await lines(`${dir.path}/out.txt`), ["A", "B", "C"]);
  const dead = (await lines(`${dir.path}/dead.jsonl`)).map((l) => JSON.parse(l));
  assert.equal(dead.length, 1);
  assert.equal(dead[0].message.length, big.length);
  assert.equal(
    dead[0].reason,
    `RESOURCE_EXHAUSTED: message of ${big.length} bytes exceeds maxMessageBytes 4194304 ` +
      `of plugin "uppercase" (max_message_bytes)`,
  );
  const [stage] = summary.stages;
  assert.equal(stage?.restarts, 0);
  assert.equal(stage?.retries, 0);
});

Deno.test("runPipeline() splits a batch too large to send, without counting a crash", async () => {
  await using dir = await tempDir();
  // ten messages of 1 MiB: one batch of 10 MiB, over the 4 MiB limit
  const line = (n: number) => `${n}`.padEnd(1024 * 1024, "y");
  await Deno.writeTextFile(
    `${dir.path}/in.txt`,
    Array.from({ length: 10 }, (_, i) => `${line(i + 1)}\n`).join(""),
  );
  const summary = await runPipeline(
    config(
      `
input: { file: { path: in.txt } }
batching: { count: 10 }
processors:
  - plugin: { module: ${EXAMPLES}uppercase/plugin.ts }
output: { file: { path: out.txt } }
dead_letter: { file: { path: dead.jsonl } }
`,
      dir.path,
    ),
    { logger: () => {} },
  );
  assert.equal(summary.status, "completed", summary.error);
  const out = await lines(`${dir.path}/out.txt`);
  assert.deepEqual(out, Array.from({ length: 10 }, (_, i) => line(i + 1).toUpperCase()));
  assert.equal(summary.deadLetters, 0);
  const [stage] = summary.stages;
  assert.equal(stage?.restarts, 0);
  assert.equal(stage?.retries, 0);
  assert.ok((stage?.bisections ?? 0) > 0);
});

Deno.test("runPipeline() counts the messages a processor drops as filtered", async () => {
  await using dir = await tempDir();
  // batches of 5: "drop" on every message of batch 2, and on one of batch 4
  const templates = Array.from(
    { length: 20 },
    (_, i) => JSON.stringify(i >= 5 && i < 10 || i === 17 ? "drop ${! i }" : "keep ${! i }"),
  );
  const summary = await runPipeline(
    config(
      `
input: { generate: { count: 20, messages: [${templates.join(", ")}] } }
batching: { count: 5 }
max_in_flight: 1
processors:
  - plugin: { module: ${FIXTURES}filter_processor.ts }
output: { file: { path: out.txt } }
`,
      dir.path,
    ),
    { logger: () => {} },
  );
  assert.equal(summary.status, "completed", summary.error);
  assert.equal(summary.messagesIn, 20);
  assert.equal(summary.messagesOut, 14);
  assert.equal(summary.deadLetters, 0);
  assert.equal(summary.filtered, 6);
  assert.equal(summary.stages[0]?.filtered, 6);
  assert.equal(summary.batches, 4);
  assert.equal((await lines(`${dir.path}/out.txt`)).length, 14);
});
