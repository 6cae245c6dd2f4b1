/**
 * Amplification: a plugin that answers a small request with millions of
 * messages (4 MB on the wire, under the message size limit) must not take
 * the pipeline host's memory with it. The host runs as a subprocess
 * (`deno run -A cli.ts run …`), its heap capped at 1 GiB as a safety net
 * for the machine; its peak resident set (VmHWM) is read from /proc while
 * it runs.
 *
 * @module
 */
import assert from "node:assert/strict";
import { runPipeline } from "../../mod.ts";
import { config, EXAMPLES, lines, tempDir } from "../pipeline/_pipeline.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;
/** The host's peak resident set may not pass this. */
const RSS_BOUND = 400 * 1024 * 1024;

/**
 * Runs `cli.ts run --json <file>` (a pipeline whose output is not stdout):
 * its exit code, stderr, summary (stdout) and peak RSS.
 */
async function runHost(
  file: string,
): Promise<{ code: number; err: string; summary: Record<string, unknown>; peakRss: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--max-old-space-size=1024", CLI, "run", "--json", file],
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(240_000), // a safety net; the verdict is the exit
  }).spawn();
  let peakRss = 0;
  const poll = setInterval(() => {
    try {
      const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
      const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
      peakRss = Math.max(peakRss, kb * 1024);
    } catch {
      // it has exited
    }
  }, 50);
  const [status, stdout, stderr] = await Promise.all([
    child.status,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  clearInterval(poll);
  const summary = stdout === "" ? {} : JSON.parse(stdout);
  return { code: status.code, err: stderr, summary, peakRss };
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

Deno.test("bulkhead run: a processor answering each batch with 2 000 000 messages costs those messages, not the host", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/pipeline.yaml`,
    `
input: { generate: { count: 8, message: "m\${! i }" } }
batching: { count: 4 }
processors:
  - plugin: { module: ${EXAMPLES}uppercase/plugin.ts }
  - plugin:
      module: ${FIXTURES}amplify_processor.ts
      restart: { initial_delay: 5ms }
output: { file: { path: out.txt } }
dead_letter: { file: { path: dead.jsonl } }
`,
  );
  const { code, err, summary, peakRss } = await runHost(`${dir.path}/pipeline.yaml`);
  assert.equal(code, 0, err);
  assert.equal(summary.status, "completed");
  assert.equal(summary.messagesOut, 0);
  assert.equal(summary.deadLetters, 8);
  const dead = (await lines(`${dir.path}/dead.jsonl`)).map((l) => JSON.parse(l));
  assert.deepEqual(
    dead.map((d) => d.message).sort(),
    ["M1", "M2", "M3", "M4", "M5", "M6", "M7", "M8"],
  );
  // the other plugin and the amplifier itself: never restarted
  const stages = summary.stages as { name: string; restarts: number }[];
  assert.deepEqual(stages.map((s) => [s.name, s.restarts]), [
    ["uppercase", 0],
    ["amplify_processor", 0],
  ]);
  for (const d of dead) {
    assert.match(
      d.reason,
      /answered 1 message with 2000000 messages, over its response budget of 100/,
    );
  }
  assert.ok(peakRss > 0 && peakRss < RSS_BOUND, `peak RSS ${mib(peakRss)}`);
  console.log(`host peak RSS ${mib(peakRss)}`);
});

Deno.test("bulkhead run: an input plugin sending 2 000 000 messages a read fails the run with the reason, in bounded memory", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/pipeline.yaml`,
    `
input:
  plugin:
    module: ${FIXTURES}amplify_input.ts
    restart: { initial_delay: 5ms }
output: drop
`,
  );
  const { code, err, summary, peakRss } = await runHost(`${dir.path}/pipeline.yaml`);
  assert.equal(code, 1, err);
  assert.equal(summary.status, "failed");
  assert.match(
    String(summary.error),
    /input "amplify_input" sent 2000000 messages in one batch, over its response budget of 100000/,
  );
  assert.ok(peakRss > 0 && peakRss < RSS_BOUND, `peak RSS ${mib(peakRss)}`);
  console.log(`host peak RSS ${mib(peakRss)}`);
});

Deno.test("runPipeline() dead-letters only the messages a processor amplifies past its budget; the rest flows", async () => {
  await using dir = await tempDir();
  const summary = await runPipeline(
    config(
      `
input:
  generate:
    count: 60
    messages: ["m\${! i }", "m\${! i }", "m\${! i }", "m\${! i }", "m\${! i }", "m\${! i } boom", "m\${! i }", "m\${! i }", "m\${! i }", "m\${! i }"]
batching: { count: 10 }
processors:
  - plugin:
      module: ${FIXTURES}amplify_processor.ts
      config: { trigger: boom, messages: 200000 }
      response_budget: { messages_per_message: 10 }
output: { file: { path: out.txt } }
dead_letter: { file: { path: dead.jsonl } }
`,
      dir.path,
    ),
    { logger: () => {} },
  );
  assert.equal(summary.status, "completed", summary.error);
  const dead = (await lines(`${dir.path}/dead.jsonl`)).map((l) => JSON.parse(l));
  const poisoned = [6, 16, 26, 36, 46, 56];
  assert.deepEqual(dead.map((d) => d.message), poisoned.map((n) => `m${n} boom`));
  for (const d of dead) {
    assert.match(d.reason, /with 200000 messages, over its response budget of 10/);
  }
  const expected = Array.from({ length: 60 }, (_, i) => i + 1).filter((n) => !poisoned.includes(n))
    .map((n) => `m${n}`);
  assert.deepEqual(await lines(`${dir.path}/out.txt`), expected);
});
