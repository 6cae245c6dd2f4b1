import assert from "node:assert/strict";
import { runPipeline, type SupervisorEvent } from "../../mod.ts";
import { config, EXAMPLES, lines, tempDir } from "./_pipeline.ts";

const COUNT = 100_000;

Deno.test("runPipeline() delivers 100 000 messages through a plugin that segfaults, each exactly once, in order", async () => {
  await using dir = await tempDir();
  const events: SupervisorEvent[] = [];
  const summary = await runPipeline(
    config(
      `
input:
  generate: { count: ${COUNT}, message: "m\${! i }" }
batching: { count: 100 }
max_in_flight: 4
processors:
  - plugin:
      module: ${EXAMPLES}crashy/plugin.ts
      permissions: { unsafe_ffi: true }
      config: { every: 7919 }
      restart: { max_crashes: 1000, initial_delay: 10ms }
output: { file: { path: out.txt } }
dead_letter: { file: { path: dead.jsonl } }
`,
      dir.path,
    ),
    { logger: () => {}, onEvent: (e) => events.push(e) },
  );
  assert.equal(summary.status, "completed", summary.error);
  const out = await lines(`${dir.path}/out.txt`);
  assert.equal(out.length, COUNT);
  for (let i = 0; i < COUNT; i++) {
    if (out[i] !== `M${i + 1}`) assert.fail(`line ${i + 1} is ${out[i]}, expected M${i + 1}`);
  }
  assert.deepEqual(await lines(`${dir.path}/dead.jsonl`), []);
  const crashes = events.filter((e) => e.type === "crashed");
  assert.ok(crashes.length >= 10, `only ${crashes.length} crashes`);
  assert.ok(crashes.every((e) => e.type === "crashed" && e.status.signal === "SIGSEGV"));
  assert.equal(summary.messagesIn, COUNT);
  assert.equal(summary.messagesOut, COUNT);
  assert.equal(summary.deadLetters, 0);
  assert.ok(summary.stages[0]!.restarts >= 10);
  assert.ok(summary.stages[0]!.retries > 0);
});

Deno.test("runPipeline() isolates poison messages by bisection: they alone go to the dead-letter output", async () => {
  await using dir = await tempDir();
  const poisoned = new Set([137, 138, 1500]);
  // message n is "m<n>", or "m<n>!" when poisoned; the plugin segfaults on "!"
  const templates = Array.from(
    { length: 2000 },
    (_, i) => JSON.stringify(poisoned.has(i + 1) ? "m${! i }!" : "m${! i }"),
  );
  const summary = await runPipeline(
    config(
      `
input:
  generate:
    count: 2000
    messages: [${templates.join(", ")}]
batching: { count: 200 }
max_in_flight: 3
processors:
  - plugin:
      module: ${EXAMPLES}crashy/plugin.ts
      processes: 2
      permissions: { unsafe_ffi: true }
      config: { poison: "!" }
      restart: { max_crashes: 1000, initial_delay: 5ms, max_delay: 100ms }
output: { file: { path: out.txt } }
dead_letter: { file: { path: dead.jsonl } }
`,
      dir.path,
    ),
    { logger: () => {} },
  );
  assert.equal(summary.status, "completed", summary.error);
  const dead = (await lines(`${dir.path}/dead.jsonl`)).map((l) => JSON.parse(l));
  assert.deepEqual(dead.map((d) => d.message).sort(), ["m137!", "m138!", "m1500!"]);
  for (const d of dead) {
    assert.equal(d.stage, "crashy");
    assert.match(d.reason, /crashed plugin "crashy" 2 times when alone: signal SIGSEGV/);
  }
  const out = await lines(`${dir.path}/out.txt`);
  const expected = Array.from({ length: 2000 }, (_, i) => i + 1)
    .filter((n) => !poisoned.has(n))
    .map((n) => `M${n}`);
  assert.deepEqual(out, expected);
  assert.equal(summary.deadLetters, 3);
  assert.ok(summary.stages[0]!.bisections > 0);
});
