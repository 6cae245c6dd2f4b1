/**
 * Startup, memory and recovery figures, measured in one run, rounds
 * interleaved:
 *
 * - bare `deno run` of a hello-world (the floor for a Deno plugin's start);
 * - greeter plugin (examples/greeter, the SDK's `serve()`): spawn → first
 *   answer, through `Plugin.start`; the Go plugin (examples/kv-go, go-plugin)
 *   likewise, when Go can build it, in its bubblewrap sandbox (the default)
 *   and with `sandbox: false`, interleaved;
 * - where the greeter's start goes, as cumulative times from spawn to a
 *   first stdout line, each spawned as the host spawns a Deno plugin (same
 *   `deno run` flags, permissions, environment and working directory):
 *   process start (a hello), + the npm module graph (protobuf-es and
 *   Connect), + the SDK and its transport imported, + listen and handshake
 *   (the greeter's handshake line); the first answer adds dial, health check
 *   and the first call;
 * - RSS (VmRSS) of a bare Deno process that stays alive, and of the greeter
 *   and the Go plugin after 200 calls (sandboxed: its whole tree, the shell
 *   and bubblewrap included);
 * - crash → serving again under a `Supervisor`, for each crash mode of the
 *   fixture plugin (the time from the failed call to the next good answer).
 *
 * Run: `deno task bench:startup [rounds]` (default 5). Prints a table and
 * one JSON line per figure. No figure here is asserted anywhere.
 *
 * @module
 */
import { Plugin, Supervisor } from "../mod.ts";
import { denoLaunch } from "../src/host/deno_command.ts";
import { readRss } from "../src/host/call_stats.ts";
import {
  BULKHEAD_COOKIE,
  ENV_PROTOCOL_VERSIONS,
  ENV_SOCKET_PATH,
} from "../src/protocol/handshake.ts";
import { GreeterService } from "../src/gen/bulkhead/examples/greeter/v1/greeter_pb.ts";
import { KvService } from "../src/gen/bulkhead/examples/kv/v1/kv_pb.ts";
import { FixtureService } from "../src/gen/bulkhead/testing/v1/fixture_pb.ts";
import { KV_COOKIE } from "../examples/kv-deno/cookie.ts";

const rounds = Number(Deno.args[0] ?? 5);
const root = new URL("..", import.meta.url);
const GREETER = new URL("examples/greeter/plugin.ts", root);
const CALLS = 200;

const dir = await Deno.makeTempDir({ prefix: "bulkhead-startup-" });
const hello = `${dir}/hello.ts`;
await Deno.writeTextFile(hello, 'console.log("hello");\n');

/** Probes for the breakdown: each imports a little more, then prints a line. */
const imports = (...paths: string[]) =>
  paths.map((p) => `import ${JSON.stringify(new URL(p, root).href)};\n`).join("");
const probes = {
  npm: imports("src/npm/protobuf.ts", "src/npm/connect.ts"),
  sdk: imports(
    "plugin.ts",
    "src/gen/bulkhead/examples/greeter/v1/greeter_pb.ts",
    "src/transport/h2/native.ts",
  ),
  // stays alive without a timer (a timer loads node:timers, ~4 MB)
  alive: "await Deno.stdin.read(new Uint8Array(1));\n",
};
const probeNpm = `${dir}/npm.ts`;
const probeSdk = `${dir}/sdk.ts`;
const alive = `${dir}/alive.ts`;
await Deno.writeTextFile(probeNpm, `${probes.npm}console.log("ready");\n`);
await Deno.writeTextFile(probeSdk, `${probes.sdk}console.log("ready");\n`);
await Deno.writeTextFile(alive, `console.log("hello");\n${probes.alive}`);

interface Figure {
  name: string;
  unit: "ms" | "MiB";
  samples: number[];
}
const figures: Figure[] = [];
function figure(name: string, unit: Figure["unit"] = "ms"): Figure {
  let f = figures.find((x) => x.name === name);
  if (!f) figures.push(f = { name, unit, samples: [] });
  return f;
}
const MiB = 1024 * 1024;

async function bareHello(): Promise<number> {
  const t = performance.now();
  await new Deno.Command(Deno.execPath(), { args: ["run", "--no-prompt", hello], stdout: "null" })
    .output();
  return performance.now() - t;
}

/**
 * Spawns `module` as the host spawns a Deno plugin and returns the time to
 * its first stdout line; with `rss`, also its VmRSS then (after a short
 * settle), in bytes.
 */
async function firstLine(module: string, rss = false): Promise<{ ms: number; rss?: number }> {
  const socketPath = `${dir}/plugin.sock`;
  await Deno.remove(socketPath).catch(() => {});
  const env = {
    [BULKHEAD_COOKIE.key]: BULKHEAD_COOKIE.value,
    [ENV_PROTOCOL_VERSIONS]: "1",
    [ENV_SOCKET_PATH]: socketPath,
  };
  const launch = await denoLaunch(module, { socketPath, envNames: Object.keys(env) });
  const t = performance.now();
  const child = new Deno.Command(launch.command, {
    args: launch.args,
    env: { ...launch.env, ...env },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`Cannot measure ${module}: it exited before printing a line`);
    text += new TextDecoder().decode(value);
  }
  const ms = performance.now() - t;
  let bytes: number | undefined;
  if (rss) {
    await new Promise((r) => setTimeout(r, 200));
    bytes = readRss(child.pid);
  }
  reader.releaseLock();
  child.kill("SIGKILL");
  await child.status;
  await child.stdout.cancel();
  await child.stdin.close().catch(() => {});
  await Deno.remove(socketPath).catch(() => {});
  return bytes === undefined ? { ms } : { ms, rss: bytes };
}

async function greeter(): Promise<{ ms: number; rss: number }> {
  const t = performance.now();
  await using plugin = await Plugin.start({ module: GREETER, logger: () => {} });
  const client = plugin.client(GreeterService);
  await client.greet({ name: "bench" });
  const ms = performance.now() - t;
  for (let i = 1; i < CALLS; i++) await client.greet({ name: "bench" });
  return { ms, rss: readRss(plugin.pid) ?? NaN };
}

async function goPlugin(
  kvGo: string,
  sandbox: boolean,
): Promise<{ ms: number; callsMs: number; rss: number }> {
  const t = performance.now();
  await using plugin = await Plugin.start({
    command: kvGo,
    cookie: KV_COOKIE,
    sandbox,
    logger: () => {},
  });
  const kv = plugin.client(KvService);
  await kv.get({ key: "k" });
  const ms = performance.now() - t;
  for (let i = 1; i < CALLS; i++) await kv.get({ key: "k" });
  const callsMs = performance.now() - t - ms;
  // sandboxed: the whole tree (shell, bwrap, bwrap as init, the plugin)
  return { ms, callsMs, rss: plugin.info().rssBytes ?? NaN };
}

/** Builds examples/kv-go with tests/interop/build.sh, or says why not. */
async function buildKvGo(): Promise<string | undefined> {
  try {
    const { code, stderr } = await new Deno.Command("sh", {
      args: [new URL("tests/interop/build.sh", root).pathname, `${dir}/go`],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (code === 0) return `${dir}/go/kv-go`;
    const why = new TextDecoder().decode(stderr).trim().split("\n").slice(-3).join(" / ");
    console.error(`(no Go figures: build.sh exited with ${code}: ${why})`);
  } catch (error) {
    console.error(`(no Go figures: ${error instanceof Error ? error.message : error})`);
  }
  return undefined;
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
    plugin: {
      module: new URL("../tests/fixtures/fixture_plugin.ts", import.meta.url),
      args: ["ok"],
      logger: () => {},
      permissions: { unsafeFfi: true },
      ...extra,
    },
    restart: { initialDelayMs: 0, jitter: 0 },
    healthIntervalMs: 0,
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

const kvGo = await buildKvGo();
// one unmeasured round: caches the module graphs and writes V8's code cache
await firstLine(probeSdk);
await greeter();
if (kvGo) await goPlugin(kvGo, true);

for (let round = 0; round < rounds; round++) {
  figure("bare deno run hello").samples.push(await bareHello());
  const g = await greeter();
  figure("greeter spawn → first answer").samples.push(g.ms);
  if (kvGo) {
    // sandboxed (the default) and not, interleaved
    const k = await goPlugin(kvGo, true);
    const bare = await goPlugin(kvGo, false);
    figure("kv-go spawn → first answer").samples.push(k.ms);
    figure("kv-go spawn → first answer, sandbox:false").samples.push(bare.ms);
    figure(`kv-go ${CALLS - 1} calls after the first`).samples.push(k.callsMs);
    figure(`kv-go ${CALLS - 1} calls after the first, sandbox:false`).samples.push(bare.callsMs);
    figure(`RSS kv-go after ${CALLS} calls`, "MiB").samples.push(k.rss / MiB);
    figure(`RSS kv-go after ${CALLS} calls, sandbox:false`, "MiB").samples.push(bare.rss / MiB);
  }
  const a = await firstLine(alive, true);
  figure("start: process (hello)").samples.push(a.ms);
  figure("start: + npm graph (protobuf, connect)").samples.push((await firstLine(probeNpm)).ms);
  figure("start: + SDK, transport imported").samples.push((await firstLine(probeSdk)).ms);
  figure("start: + listen, handshake line").samples.push((await firstLine(GREETER.href)).ms);
  figure("RSS bare deno (hello, alive)", "MiB").samples.push(a.rss! / MiB);
  figure(`RSS greeter after ${CALLS} calls`, "MiB").samples.push(g.rss / MiB);
  for (const [action, extra] of modes) {
    figure(`crash → serving again: ${action}`).samples.push(await recovery(action, extra));
  }
}
await Deno.remove(dir, { recursive: true });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const floors = {
  ms: median(figure("bare deno run hello").samples),
  MiB: median(figure("RSS bare deno (hello, alive)", "MiB").samples),
};
const w = 40;
console.log(
  `\n${"figure".padEnd(w)} ${"median".padStart(9)} ${"min".padStart(9)} ${
    "max".padStart(9)
  }  vs bare deno`,
);
for (const f of figures) {
  const m = median(f.samples);
  const cell = (x: number) => `${x.toFixed(f.unit === "ms" ? 0 : 1)}${f.unit}`.padStart(9);
  console.log(
    `${f.name.padEnd(w)} ${cell(m)} ${cell(Math.min(...f.samples))} ${
      cell(Math.max(...f.samples))
    }  ${(m / floors[f.unit]).toFixed(2)}×`,
  );
}
{
  const spawn = median(figure("greeter spawn → first answer").samples) / floors.ms;
  const rss = median(figure(`RSS greeter after ${CALLS} calls`, "MiB").samples) / floors.MiB;
  console.log("\nissue 18 goals (Deno plugin = the greeter example):");
  for (
    const [name, met, value] of [
      ["spawn → first answer ≤ 2.0× bare deno hello", spawn <= 2.0, spawn],
      [`RSS after ${CALLS} calls ≤ 1.4× bare deno`, rss <= 1.4, rss],
    ] as const
  ) console.log(`  ${met ? "met   " : "missed"}  ${name.padEnd(44)} ${value.toFixed(2)}×`);
}
for (const f of figures) {
  const key = f.unit === "ms" ? "Ms" : "MiB";
  console.log(JSON.stringify({
    figure: f.name,
    [`median${key}`]: +median(f.samples).toFixed(1),
    [`min${key}`]: +Math.min(...f.samples).toFixed(1),
    [`max${key}`]: +Math.max(...f.samples).toFixed(1),
    rounds,
  }));
}
