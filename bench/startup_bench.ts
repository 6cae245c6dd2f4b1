/**
 * Startup and recovery figures, measured in one run:
 *
 * - bare `deno run` of a hello-world (the floor for a Deno plugin's start);
 * - greeter plugin: spawn → first answer, through `Plugin.start`;
 * - crash → serving again under a `Supervisor`, for each crash mode of the
 *   fixture plugin (the time from the failed call to the next good answer).
 *
 * Run: `deno task bench:startup [rounds]` (default 5). Prints a table and
 * one JSON line per figure. No figure here is asserted anywhere.
 *
 * @module
 */
import { Plugin, Supervisor } from "../mod.ts";
import { GreeterService } from "../src/gen/bulkhead/examples/greeter/v1/greeter_pb.ts";
import { FixtureService } from "../src/gen/bulkhead/testing/v1/fixture_pb.ts";

const rounds = Number(Deno.args[0] ?? 5);
const hello = await Deno.makeTempFile({ suffix: ".ts" });
await Deno.writeTextFile(hello, 'console.log("hello");\n');

interface Figure {
  name: string;
  samples: number[];
}
const figures: Figure[] = [];
function figure(name: string): Figure {
  let f = figures.find((x) => x.name === name);
  if (!f) figures.push(f = { name, samples: [] });
  return f;
}

async function bareHello(): Promise<number> {
  const t = performance.now();
  await new Deno.Command(Deno.execPath(), { args: ["run", "--no-prompt", hello], stdout: "null" })
    .output();
  return performance.now() - t;
}

async function greeterFirstAnswer(): Promise<number> {
  const t = performance.now();
  await using plugin = await Plugin.start({
    module: new URL("../examples/greeter/plugin.ts", import.meta.url),
    logger: () => {},
  });
  await plugin.client(GreeterService).greet({ name: "bench" });
  return performance.now() - t;
}

const modes: [string, Record<string, unknown>][] = [
  ["segfault", {}],
  ["abort", {}],
  ["throw", {}],
  ["exit:1", {}],
  ["oom", { limits: { heapMb: 64 } }],
];

async function recovery(action: string, extra: Record<string, unknown>): Promise<number> {
  await using supervisor = await Supervisor.start({
    module: new URL("../tests/fixtures/fixture_plugin.ts", import.meta.url),
    args: ["ok"],
    logger: () => {},
    permissions: { unsafeFfi: true },
    restart: { initialDelayMs: 0, jitter: 0 },
    healthIntervalMs: 0,
    ...extra,
  });
  const fixture = supervisor.client(FixtureService);
  await fixture.echo({});
  const failed = await fixture.act({ action }).then(() => false, () => true);
  if (!failed) throw new Error(`${action} did not crash the plugin`);
  const t = performance.now();
  while (true) {
    try {
      await fixture.echo({}, { timeoutMs: 10_000 });
      return performance.now() - t;
    } catch {
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}

for (let round = 0; round < rounds; round++) {
  figure("bare deno run hello").samples.push(await bareHello());
  figure("greeter spawn → first answer").samples.push(await greeterFirstAnswer());
  for (const [action, extra] of modes) {
    figure(`crash → serving again: ${action}`).samples.push(await recovery(action, extra));
  }
}
await Deno.remove(hello);

const floor = figures[0]!;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `\n${"figure".padEnd(36)} ${"median".padStart(8)} ${"min".padStart(8)} ${
    "max".padStart(8)
  }  vs bare hello`,
);
for (const f of figures) {
  const m = median(f.samples);
  console.log(
    `${f.name.padEnd(36)} ${m.toFixed(0).padStart(6)}ms ${
      Math.min(...f.samples).toFixed(0).padStart(6)
    }ms ${Math.max(...f.samples).toFixed(0).padStart(6)}ms  ${
      (m / median(floor.samples)).toFixed(2)
    }×`,
  );
}
for (const f of figures) {
  console.log(JSON.stringify({
    figure: f.name,
    medianMs: +median(f.samples).toFixed(1),
    minMs: +Math.min(...f.samples).toFixed(1),
    maxMs: +Math.max(...f.samples).toFixed(1),
    rounds,
  }));
}
