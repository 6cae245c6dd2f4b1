/**
 * Plugin inputs and outputs (`src/pipeline/plugin_io.ts`, `serveInput`,
 * `serveOutput`): real Deno plugins from tests/fixtures/ in real pipelines.
 *
 * @module
 */
import assert from "node:assert/strict";
import { runPipeline, type SupervisorEvent } from "../../mod.ts";
import { config, lines, tempDir } from "./_pipeline.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;
const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const COUNT = 2000;

/** A pipeline from the input fixture through `processors` to the output fixture. */
function pipelineYaml(dir: string, options: {
  input?: string;
  output?: string;
  processors?: string;
}): string {
  const grant = `permissions: { read: [${dir}], write: [${dir}] }`;
  return `
input:
  plugin:
    module: ${FIXTURES}batch_input_plugin.ts
    ${grant}
    restart: { initial_delay: 5ms }
    config:
      { count: ${COUNT}, batch: 10, acked: ${dir}/acked.txt, output: ${dir}/out.txt${
    options.input ?? ""
  } }
batching: { count: 7 }
max_in_flight: 4
processors: ${options.processors ?? "[]"}
output:
  plugin:
    module: ${FIXTURES}batch_output_plugin.ts
    ${grant}
    restart: { initial_delay: 5ms }
    config: { path: ${dir}/out.txt${options.output ?? ""} }
`;
}

const numbered = (prefix: string, from = 1, to = COUNT) =>
  Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);

/** The acknowledgement lines the input plugin wrote: message number, pid, when. */
async function acks(path: string): Promise<{ n: number; pid: number; when: string }[]> {
  return (await lines(path)).map((line) => {
    const [n, pid, ...when] = line.split(" ");
    return { n: Number(n), pid: Number(pid), when: when.join(" ") };
  });
}

Deno.test("runPipeline() moves every message from an input plugin to an output plugin once, in order, acknowledging after output", async () => {
  await using dir = await tempDir();
  const summary = await runPipeline(config(pipelineYaml(dir.path, {}), dir.path), {
    logger: () => {},
  });
  assert.equal(summary.status, "completed", summary.error);
  assert.equal(summary.messagesIn, COUNT);
  assert.equal(summary.messagesOut, COUNT);
  assert.deepEqual(await lines(`${dir.path}/out.txt`), numbered("m"));
  const acked = await acks(`${dir.path}/acked.txt`);
  assert.deepEqual(acked.map((a) => a.n).sort((a, b) => a - b), numbered("", 1).map(Number));
  assert.deepEqual(acked.filter((a) => a.when !== "after-output"), []);
});

Deno.test("runPipeline() sends a batch again when the output plugin crashes before confirming it: only that batch is written twice", async () => {
  await using dir = await tempDir();
  const events: SupervisorEvent[] = [];
  const summary = await runPipeline(
    config(
      pipelineYaml(dir.path, {
        output: `, crash_on: M1000, marker: ${dir.path}/crashed`,
        processors: `[{ plugin: { module: ${FIXTURES}../../examples/uppercase/plugin.ts } }]`,
      }),
      dir.path,
    ),
    { logger: () => {}, onEvent: (e) => events.push(e) },
  );
  assert.equal(summary.status, "completed", summary.error);
  assert.ok(
    events.some((e) => e.type === "crashed" && e.plugin === "batch_output_plugin"),
    "the output plugin never crashed",
  );
  // README: "only a failing output plugin may receive a batch twice". The batch
  // holding M1000 was written, then the plugin died before confirming it; it
  // was sent again, whole, to the restarted plugin, right after itself.
  const out = await lines(`${dir.path}/out.txt`);
  const first = out.indexOf("M1000");
  const second = out.indexOf("M1000", first + 1);
  assert.ok(first >= 0 && second > first, "M1000 was not written twice");
  const size = second - first;
  assert.ok(size <= 7, `the repeated run is ${size} messages, more than a batch`);
  const repeated = Array.from({ length: size }, (_, i) => first - i).filter((start) =>
    out.slice(start, start + size).join() === out.slice(start + size, start + 2 * size).join()
  );
  assert.equal(repeated.length, 1, "the repeated messages are not one batch sent twice");
  assert.deepEqual([...out.slice(0, first + 1), ...out.slice(second + 1)], numbered("M"));
  assert.equal(summary.messagesOut, COUNT);
  // the input heard of each message once, after the output had it
  const acked = await acks(`${dir.path}/acked.txt`);
  assert.deepEqual(acked.map((a) => a.n).sort((a, b) => a - b), numbered("", 1).map(Number));
  assert.deepEqual(acked.filter((a) => a.when !== "after-output"), []);
});

Deno.test("runPipeline() acknowledges nothing to a restarted input plugin for batches its predecessor read", async () => {
  await using dir = await tempDir();
  const events: SupervisorEvent[] = [];
  const summary = await runPipeline(
    config(
      pipelineYaml(dir.path, {
        input: `, crash_after_reads: 3, crash_after_acks: 10, marker: ${dir.path}/crashed`,
      }),
      dir.path,
    ),
    { logger: () => {}, onEvent: (e) => events.push(e) },
  );
  assert.equal(summary.status, "completed", summary.error);
  const crashed = events.flatMap((e) =>
    e.type === "crashed" && e.plugin === "batch_input_plugin" ? [e.pid] : []
  );
  assert.equal(crashed.length, 1);
  // at-least-once: the restarted source emits again what was not acknowledged,
  // so some messages are written twice; in first-seen order, all are there, in order
  const out = await lines(`${dir.path}/out.txt`);
  assert.deepEqual([...new Set(out)], numbered("m"));
  // every acknowledgement reached the process that read the batch, after the output had it
  const acked = await acks(`${dir.path}/acked.txt`);
  assert.deepEqual(acked.filter((a) => a.when !== "after-output"), []);
  assert.deepEqual(
    [...new Set(acked.map((a) => a.n))].sort((a, b) => a - b),
    numbered("", 1).map(Number),
  );
  const before = new Set(acked.filter((a) => a.pid === crashed[0]).map((a) => a.n));
  const after = acked.filter((a) => a.pid !== crashed[0]).map((a) => a.n);
  assert.deepEqual(after.filter((n) => before.has(n)), [], "a message was acknowledged twice");
});

Deno.test("bulkhead run shows input and output plugin crashes as they happen, and both plugins in the summary's stages", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/pipeline.yaml`,
    pipelineYaml(dir.path, {
      input: `, crash_after_reads: 3, crash_after_acks: 10, marker: ${dir.path}/input-crashed`,
      output: `, crash_on: m1000, marker: ${dir.path}/output-crashed`,
    }),
  );
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "run", "--json", `${dir.path}/pipeline.yaml`],
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 0, err);
  assert.match(
    err,
    /bulkhead: plugin "batch_input_plugin" \(pid \d+\) crashed: exit code 70[^\n]*\n/,
  );
  assert.match(
    err,
    /bulkhead: plugin "batch_output_plugin" \(pid \d+\) crashed: exit code 70[^\n]*\n/,
  );
  const summary = JSON.parse(new TextDecoder().decode(stdout));
  const stages = new Map<string, Record<string, unknown>>(
    summary.stages.map((s: Record<string, unknown>) => [s.kind, s]),
  );
  assert.equal(stages.get("input")?.name, "batch_input_plugin");
  assert.equal(stages.get("input")?.restarts, 1);
  assert.equal(stages.get("output")?.name, "batch_output_plugin");
  assert.equal(stages.get("output")?.restarts, 1);
  assert.ok(Number(stages.get("output")?.calls) > 0);
});
