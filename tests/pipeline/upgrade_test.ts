import assert from "node:assert/strict";
import {
  type PipelineConfig,
  type PipelineControl,
  runPipeline,
  type StageReload,
  type SupervisorEvent,
} from "../../mod.ts";
import { config, tempDir } from "./_pipeline.ts";
import { COUNT, expectedOutput, TEMPLATE, writeUpper } from "../_upgrade.ts";

/** A reload of every plugin processor at `at` messages, to `version`. */
interface Step {
  at: number;
  version: "v1" | "v2";
}

/**
 * Runs `COUNT` messages (10 000 a second; each batch held 20 ms by the
 * plugin, so batches are in flight at a switch) through an in-process gate stage, then the
 * upper-casing plugin (2 processes, from `dir/upper.ts`) into `dir/out.txt`.
 * The gate rewrites the plugin file and reloads the stage when the step's
 * message count is reached (a reload starts once the one before has
 * ended): batches keep flowing while the new processes start, the old ones
 * drain and the new ones are on probation. Batches from `LAST_HOLD` on
 * wait until every reload has ended, so all happen mid-run.
 */
/** Batches from here on wait until every reload has ended. */
const LAST_HOLD = 95_000;

async function run(dir: string, steps: readonly Step[]) {
  await writeUpper(`${dir}/upper.ts`, "v1");
  const parsed = config(
    `
input:
  generate: { count: ${COUNT}, message: "${TEMPLATE}", rate: 10000 }
batching: { count: 100 }
max_in_flight: 4
processors:
  - plugin:
      module: ./upper.ts
      processes: 2
      config: { hold_ms: 20 }
output: { file: { path: out.txt } }
dead_letter: { file: { path: dead.jsonl } }
`,
    dir,
  );
  let control: PipelineControl | undefined;
  let seen = 0;
  const reloads: Promise<StageReload[]>[] = [];
  const gate: PipelineConfig["processors"][number] = {
    kind: "function",
    name: "gate",
    fn: async (batch) => {
      seen += batch.length;
      for (const [i, step] of steps.entries()) {
        if (seen >= step.at && reloads[i] === undefined) {
          const before = reloads[i - 1];
          reloads[i] = (async () => {
            await before;
            await writeUpper(`${dir}/upper.ts`, step.version);
            return await control!.reload();
          })();
        }
      }
      // the run must not end before the last reload has (it would abandon it)
      if (steps.length > 0 && seen >= LAST_HOLD) await Promise.all(reloads);
      return batch;
    },
  };
  const events: SupervisorEvent[] = [];
  const summary = await runPipeline({ ...parsed, processors: [gate, ...parsed.processors] }, {
    logger: () => {},
    onEvent: (event) => events.push(event),
    onStart: (_progress, pipeline) => control = pipeline,
  });
  return { summary, events, reloads: (await Promise.all(reloads)).flat() };
}

Deno.test("a pipeline of 100 000 messages upgraded twice mid-run writes byte for byte what a run without upgrades writes", async () => {
  await using plain = await tempDir();
  await using upgraded = await tempDir();
  const baseline = await run(plain.path, []);
  assert.equal(baseline.summary.status, "completed", baseline.summary.error);
  const { summary, events, reloads } = await run(upgraded.path, [
    { at: 30_000, version: "v2" },
    { at: 60_000, version: "v1" },
  ]);
  assert.equal(summary.status, "completed", summary.error);
  for (const reload of reloads) {
    assert.equal(
      reload.status,
      "upgraded",
      reload.status === "upgraded" ? "" : reload.error.message,
    );
  }
  assert.equal(reloads.length, 2);
  const kinds = events.filter((e) => e.type.startsWith("upgrade-")).map((e) => e.type);
  assert.deepEqual(kinds, [
    "upgrade-started",
    "upgrade-switched",
    "upgrade-completed",
    "upgrade-started",
    "upgrade-switched",
    "upgrade-completed",
  ]);
  // 0 lost, 0 duplicated: the same bytes as the run without upgrades
  const out = await Deno.readFile(`${upgraded.path}/out.txt`);
  const expected = await Deno.readFile(`${plain.path}/out.txt`);
  assert.equal(out.length, expected.length);
  assert.ok(out.every((byte, i) => byte === expected[i]), "the outputs differ");
  assert.equal(new TextDecoder().decode(expected), expectedOutput());
  assert.equal(await Deno.readTextFile(`${upgraded.path}/dead.jsonl`), "");
  assert.equal(summary.messagesOut, COUNT);
  assert.equal(summary.deadLetters, 0);
  for (const reload of reloads) {
    if (reload.status !== "upgraded") continue;
    const r = reload.result;
    console.log(
      `pipeline reload: ${r.drained} batches finished on the old version; ` +
        `time to switch ${r.switchMs.toFixed(0)} ms, to drain ${
          r.drainMs.toFixed(1)
        } ms, cut ${r.cut}`,
    );
  }
});
