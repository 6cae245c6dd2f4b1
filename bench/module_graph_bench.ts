/**
 * What the module graph check costs a Deno plugin's start
 * (`src/host/module_root.ts`): for examples/greeter, `checkModuleGraph`
 * in a fresh host process (cold: `deno info --json`, parsing, realpaths),
 * then again in the same process (cached: the listing revalidated by
 * stat'ing its files, as a Supervisor restart does); and a bare `deno info
 * --json` for comparison. Each round runs in a new process. Then, in this
 * process, rounds interleaved: `Plugin.start` → first answer of the greeter
 * with the check (its listing cached after the first round) and with
 * `read: true` (the check skipped), so a shared CPU weighs on both alike.
 *
 * Run: `deno run -A bench/module_graph_bench.ts [rounds]` (default 7).
 * Prints medians (min–max) and one JSON line per figure.
 *
 * @module
 */
import { type Permissions, Plugin } from "../mod.ts";
import { GreeterService } from "../src/gen/bulkhead/examples/greeter/v1/greeter_pb.ts";
import { checkModuleGraph } from "../src/host/module_root.ts";
import { denoExecutable, findDenoDir } from "../src/host/deno_command.ts";

const GREETER = new URL("../examples/greeter/plugin.ts", import.meta.url).href;

if (Deno.args[0] === "--one") {
  await findDenoDir(); // a start has found it already (planLaunch), once per host process
  const times: number[] = [];
  for (let i = 0; i < 4; i++) {
    const t = performance.now();
    await checkModuleGraph("greeter", GREETER, {});
    times.push(performance.now() - t);
  }
  console.log(JSON.stringify({ cold: times[0], cached: Math.min(...times.slice(1)) }));
  Deno.exit(0);
}

const rounds = Number(Deno.args[0] ?? 7);
const figures = new Map<string, number[]>();
const add = (name: string, ms: number) => figures.set(name, [...(figures.get(name) ?? []), ms]);
for (let i = 0; i < rounds; i++) {
  let t = performance.now();
  await new Deno.Command(denoExecutable(), {
    args: ["info", "--json", "--no-remote", GREETER],
    stdout: "null",
    stderr: "null",
  }).output();
  add("bare deno info --json (greeter)", performance.now() - t);
  t = performance.now();
  const { stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--one"],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const one = JSON.parse(new TextDecoder().decode(stdout)) as { cold: number; cached: number };
  add("checkModuleGraph cold (greeter)", one.cold);
  add("checkModuleGraph cached (greeter)", one.cached);
}
async function greeter(permissions: Permissions): Promise<number> {
  const t = performance.now();
  await using plugin = await Plugin.start({ module: GREETER, permissions, logger: () => {} });
  await plugin.client(GreeterService).greet({ name: "bench" });
  return performance.now() - t;
}
await greeter({}); // the first start lists the graph; restarts find it cached
for (let i = 0; i < rounds; i++) {
  add("greeter start → first answer, checked", await greeter({}));
  add("greeter start → first answer, read: true", await greeter({ read: true }));
}

for (const [name, values] of figures) {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const round = (n: number) => Math.round(n * 10) / 10;
  console.log(
    `${name.padEnd(44)} ${round(median)} ms (${round(sorted[0]!)}–${
      round(sorted.at(-1)!)
    } ms, ${rounds} rounds)`,
  );
  console.log(JSON.stringify({ figure: name, medianMs: round(median), rounds }));
}
