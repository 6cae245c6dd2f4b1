/**
 * Transport benchmark: the same figures for four variants, all over Unix
 * sockets, measured in one run with rounds interleaved (each round starts
 * fresh server processes and visits the variants in a rotated order):
 *
 * - `floor`: protobuf-es with a length prefix over a raw Deno Unix socket;
 * - `grpc-go`: grpc-go client ↔ grpc-go server (go-plugin's stack), built
 *   from Debian packages (`bench/go/`);
 * - `native`: Bulkhead's own HTTP/2 (`src/transport/h2/`), Deno ↔ Deno;
 * - `node-http2`: Connect on Deno's `node:http2`, Deno ↔ Deno.
 *
 * Deno variants are called through Connect's API (`createClient`) from this
 * process; their server is a separate process, as a plugin is. Figures:
 * unary echo of 64 B, 4 KiB and 1 MiB (p50, p99, after warm-up), unary
 * calls/s with 64 in flight, bidi stream msgs/s (64 B echoed), and
 * `BatchProcessorService/ProcessBatch` with 1000 × 100 B messages host →
 * plugin → host (items/s). Prints a table (median [min–max] over rounds,
 * ratios of medians to the floor and to grpc-go) and one JSON line per
 * variant and figure. Nothing here is asserted anywhere.
 *
 * Run: `deno run -A bench/transport_bench.ts [rounds] [variant…]`
 * (default 5 rounds, every variant; `deno task bench` runs it).
 *
 * @module
 */
import { buildGoPeer, type GoPeer } from "./_go_peer.ts";
import {
  type BenchConfig,
  denoServer,
  measureFloor,
  measureGo,
  measureTransport,
  type Reported,
  startServer,
} from "./_drivers.ts";

const VARIANTS = ["floor", "grpc-go", "native", "node-http2"] as const;
type Variant = typeof VARIANTS[number];

const CONFIG: BenchConfig = {
  warmup: 400,
  n64: 2000,
  n4k: 1000,
  n1m: 30,
  millis: 600,
  items: 1000,
  itemSize: 100,
};

/** A row of the table: which reported value, its unit, and whether lower is better. */
interface Metric {
  name: string;
  figure: string;
  field: "p50" | "p99" | "perSecond";
  unit: "µs" | "calls/s" | "msgs/s" | "items/s";
}

const METRICS: Metric[] = [
  { name: "unary 64 B p50", figure: "unary 64 B", field: "p50", unit: "µs" },
  { name: "unary 64 B p99", figure: "unary 64 B", field: "p99", unit: "µs" },
  { name: "unary 4 KiB p50", figure: "unary 4 KiB", field: "p50", unit: "µs" },
  { name: "unary 4 KiB p99", figure: "unary 4 KiB", field: "p99", unit: "µs" },
  { name: "unary 1 MiB p50", figure: "unary 1 MiB", field: "p50", unit: "µs" },
  { name: "unary 1 MiB p99", figure: "unary 1 MiB", field: "p99", unit: "µs" },
  { name: "unary, 64 in flight", figure: "64 in flight", field: "perSecond", unit: "calls/s" },
  { name: "bidi stream, 64 B", figure: "bidi 64 B", field: "perSecond", unit: "msgs/s" },
  { name: "batch 1000 × 100 B", figure: "batch", field: "perSecond", unit: "items/s" },
];

const rounds = Number(Deno.args[0] ?? 5);
const only = Deno.args.slice(1) as Variant[];
const variants = only.length > 0 ? VARIANTS.filter((v) => only.includes(v)) : [...VARIANTS];

const samples = new Map<string, number[]>(); // `${variant}\0${metric}` → values

async function runVariant(variant: Variant, dir: string, go: GoPeer | undefined): Promise<void> {
  const path = `${dir}/${variant}.sock`;
  const [command, args] = variant === "grpc-go"
    ? [go!.binary, ["server", path]]
    : denoServer(variant, path);
  let reported: Reported[];
  {
    await using _server = await startServer(command, args);
    reported = variant === "grpc-go"
      ? await measureGo(go!.binary, path, CONFIG)
      : variant === "floor"
      ? await measureFloor(path, CONFIG)
      : await measureTransport(variant, path, CONFIG);
  }
  await Deno.remove(path).catch(() => {});
  for (const metric of METRICS) {
    const value = reported.find((r) => r.figure === metric.figure)?.[metric.field];
    if (value === undefined) continue;
    const key = `${variant}\0${metric.name}`;
    samples.set(key, [...samples.get(key) ?? [], value]);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function stats(variant: Variant, metric: Metric) {
  const xs = samples.get(`${variant}\0${metric.name}`);
  if (xs === undefined || xs.length === 0) return undefined;
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

function format(value: number, unit: Metric["unit"]): string {
  if (unit === "µs") return value >= 10_000 ? `${(value / 1000).toFixed(1)}ms` : value.toFixed(0);
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value.toFixed(0);
}

const dir = await Deno.makeTempDir({ prefix: "bulkhead-bench-" });
let go: GoPeer | undefined;
try {
  if (variants.includes("grpc-go")) {
    console.error("building the grpc-go peer…");
    go = await buildGoPeer();
  }
  const started = performance.now();
  for (let round = 0; round < rounds; round++) {
    const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
    for (const variant of order) {
      console.error(`round ${round + 1}/${rounds}: ${variant}`);
      await runVariant(variant, dir, go);
    }
  }
  const seconds = (performance.now() - started) / 1000;

  const ratio = (value: number, base: number | undefined) =>
    base === undefined ? "" : `${(value / base).toFixed(2)}×`;
  const header = [
    "figure",
    "unit",
    ...variants.flatMap((v) => v === "native" || v === "node-http2" ? [v, "÷floor", "÷go"] : [v]),
  ];
  const rows: string[][] = [];
  for (const metric of METRICS) {
    const floor = stats("floor", metric)?.median;
    const peer = stats("grpc-go", metric)?.median;
    const row = [metric.name, metric.unit];
    for (const variant of variants) {
      const s = stats(variant, metric);
      const cell = s === undefined
        ? "—"
        : `${format(s.median, metric.unit)} [${format(s.min, metric.unit)}–${
          format(s.max, metric.unit)
        }]`;
      row.push(cell);
      if (variant === "native" || variant === "node-http2") {
        row.push(
          s === undefined ? "" : ratio(s.median, floor),
          s === undefined ? "" : ratio(s.median, peer),
        );
      }
      if (s !== undefined) {
        console.log(JSON.stringify({
          variant,
          figure: metric.name,
          unit: metric.unit,
          median: +s.median.toFixed(1),
          min: +s.min.toFixed(1),
          max: +s.max.toFixed(1),
          rounds: s.n,
          ...(floor === undefined ? {} : { vsFloor: +(s.median / floor).toFixed(3) }),
          ...(peer === undefined ? {} : { vsGrpcGo: +(s.median / peer).toFixed(3) }),
        }));
      }
    }
    rows.push(row);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join("  ");
  console.log(
    `\nUnix sockets, ${rounds} interleaved rounds, median [min–max]; ÷ = ratio of medians ` +
      `(${Deno.build.os}/${Deno.build.arch}, ${navigator.hardwareConcurrency} CPUs, ` +
      `Deno ${Deno.version.deno}, ${seconds.toFixed(0)} s)`,
  );
  console.log(line(header));
  for (const row of rows) console.log(line(row));

  if (variants.includes("native") && variants.includes("grpc-go") && variants.includes("floor")) {
    const m = (variant: Variant, name: string) =>
      stats(variant, METRICS.find((x) => x.name === name)!)!.median;
    const p50 = m("native", "unary 64 B p50");
    const targets: [string, boolean, string][] = [
      [
        "unary 64 B p50 ≤ 0.5× grpc-go",
        p50 <= 0.5 * m("grpc-go", "unary 64 B p50"),
        ratio(p50, m("grpc-go", "unary 64 B p50")),
      ],
      [
        "unary 64 B p50 ≤ 1.5× floor",
        p50 <= 1.5 * m("floor", "unary 64 B p50"),
        ratio(p50, m("floor", "unary 64 B p50")),
      ],
      [
        "unary 64 B p99 ≤ grpc-go's",
        m("native", "unary 64 B p99") <= m("grpc-go", "unary 64 B p99"),
        ratio(m("native", "unary 64 B p99"), m("grpc-go", "unary 64 B p99")),
      ],
      [
        "calls/s, 64 in flight ≥ 1.3× grpc-go",
        m("native", "unary, 64 in flight") >= 1.3 * m("grpc-go", "unary, 64 in flight"),
        ratio(m("native", "unary, 64 in flight"), m("grpc-go", "unary, 64 in flight")),
      ],
      [
        "bidi msgs/s ≥ grpc-go",
        m("native", "bidi stream, 64 B") >= m("grpc-go", "bidi stream, 64 B"),
        ratio(m("native", "bidi stream, 64 B"), m("grpc-go", "bidi stream, 64 B")),
      ],
      [
        "batch ≥ 1.5 M items/s",
        m("native", "batch 1000 × 100 B") >= 1.5e6,
        format(m("native", "batch 1000 × 100 B"), "items/s"),
      ],
      [
        "batch ≥ 2.5× grpc-go",
        m("native", "batch 1000 × 100 B") >= 2.5 * m("grpc-go", "batch 1000 × 100 B"),
        ratio(m("native", "batch 1000 × 100 B"), m("grpc-go", "batch 1000 × 100 B")),
      ],
    ];
    console.log("\nissue 7 targets (native):");
    for (const [name, met, value] of targets) {
      console.log(`  ${met ? "met   " : "missed"}  ${name.padEnd(38)} ${value}`);
    }
    const goals: [string, boolean, string][] = [
      [
        "bidi stream 64 B msgs/s ≥ 1.2× grpc-go",
        m("native", "bidi stream, 64 B") >= 1.2 * m("grpc-go", "bidi stream, 64 B"),
        ratio(m("native", "bidi stream, 64 B"), m("grpc-go", "bidi stream, 64 B")),
      ],
      [
        "batch items/s ≥ 2.5× grpc-go",
        m("native", "batch 1000 × 100 B") >= 2.5 * m("grpc-go", "batch 1000 × 100 B"),
        ratio(m("native", "batch 1000 × 100 B"), m("grpc-go", "batch 1000 × 100 B")),
      ],
      [
        "batch items/s ≥ 1.5× floor",
        m("native", "batch 1000 × 100 B") >= 1.5 * m("floor", "batch 1000 × 100 B"),
        ratio(m("native", "batch 1000 × 100 B"), m("floor", "batch 1000 × 100 B")),
      ],
      [
        "unary 64 B p99 ≤ 1.3× floor",
        m("native", "unary 64 B p99") <= 1.3 * m("floor", "unary 64 B p99"),
        ratio(m("native", "unary 64 B p99"), m("floor", "unary 64 B p99")),
      ],
    ];
    console.log("\nissue 18 goals (native; the floor is protobuf-es over a raw socket):");
    for (const [name, met, value] of goals) {
      console.log(`  ${met ? "met   " : "missed"}  ${name.padEnd(38)} ${value}`);
    }
  }
} finally {
  await go?.[Symbol.asyncDispose]();
  await Deno.remove(dir, { recursive: true });
}
