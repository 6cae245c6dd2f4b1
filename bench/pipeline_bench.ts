/**
 * Pipeline throughput: `generate → uppercase → drop`, with the uppercase
 * processor as a Deno plugin (1 and 2 processes) and as an in-process
 * function, at batch sizes 1, 100 and 1000, in one run (rounds interleaved).
 *
 * Run: `deno task bench:pipeline [rounds]` (default 3). Prints a table and
 * one JSON line per figure. Nothing here is asserted anywhere.
 *
 * @module
 */
import { parsePipelineConfig, type PipelineConfig, runPipeline } from "../mod.ts";

const rounds = Number(Deno.args[0] ?? 3);
const examples = new URL("../examples/uppercase/", import.meta.url).pathname;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function config(batch: number, processes: number | "in-process"): PipelineConfig {
  const count = batch === 1 ? 20_000 : 200_000;
  const processor = processes === "in-process"
    ? ""
    : `processors:\n  - plugin:\n      module: ./plugin.ts\n      processes: ${processes}\n`;
  const parsed = parsePipelineConfig(
    `input: { generate: { count: ${count}, message: "message number \${! i }" } }\n` +
      `batching: { count: ${batch}, period: 1s }\nmax_in_flight: 8\n${processor}output: drop\n`,
    { file: "bench.yaml", dir: examples },
  );
  if (processes === "in-process") {
    parsed.processors = [{
      kind: "function",
      name: "uppercase",
      fn: (messages) => messages.map((m) => encoder.encode(decoder.decode(m).toUpperCase())),
    }];
  }
  return parsed;
}

const variants = [
  ["in-process function", "in-process"],
  ["Deno plugin, 1 process", 1],
  ["Deno plugin, 2 processes", 2],
] as const;
const results = new Map<string, number[]>();
for (let round = 0; round < rounds; round++) {
  for (const batch of [1, 100, 1000]) {
    for (const [label, processes] of variants) {
      const summary = await runPipeline(config(batch, processes), { logger: () => {} });
      if (summary.status !== "completed") throw new Error(`${label}: ${summary.error}`);
      const key = `${batch}\t${label}`;
      results.set(key, [...(results.get(key) ?? []), summary.messagesPerSecond]);
    }
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `\n${"batch".padStart(5)}  ${"processor".padEnd(26)} ${
    "msgs/s (median)".padStart(16)
  }  vs in-process`,
);
for (const batch of [1, 100, 1000]) {
  const base = median(results.get(`${batch}\tin-process function`)!);
  for (const [label] of variants) {
    const m = median(results.get(`${batch}\t${label}`)!);
    console.log(
      `${String(batch).padStart(5)}  ${label.padEnd(26)} ${
        Math.round(m).toLocaleString("en").padStart(16)
      }  ${(m / base).toFixed(2)}×`,
    );
  }
}
{
  const vsInProcess = (batch: number) =>
    median(results.get(`${batch}\tDeno plugin, 1 process`)!) /
    median(results.get(`${batch}\tin-process function`)!);
  console.log("\nissue 18 goals (Deno plugin, 1 process):");
  for (
    const [name, value, goal] of [
      ["batch 100 ≥ 0.95× in-process", vsInProcess(100), 0.95],
      ["batch 1 ≥ 0.25× in-process", vsInProcess(1), 0.25],
    ] as const
  ) {
    console.log(
      `  ${value >= goal ? "met   " : "missed"}  ${name.padEnd(32)} ${value.toFixed(2)}×`,
    );
  }
}
for (const [key, samples] of results) {
  const [batch, variant] = key.split("\t");
  console.log(JSON.stringify({
    figure: "pipeline generate→uppercase→drop",
    batch: Number(batch),
    variant,
    medianMsgsPerSecond: Math.round(median(samples)),
    min: Math.round(Math.min(...samples)),
    max: Math.round(Math.max(...samples)),
    rounds,
  }));
}
