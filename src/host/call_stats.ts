/**
 * Per-plugin call counters and latency percentiles over a bounded window
 * of recent calls.
 *
 * @module
 */

/** A snapshot of call statistics. */
export interface CallStatsSnapshot {
  /** Calls completed (successfully or not). */
  calls: number;
  /** Calls that failed. */
  errors: number;
  /** Median latency of recent calls, in milliseconds. */
  p50Ms: number;
  /** 99th percentile latency of recent calls, in milliseconds. */
  p99Ms: number;
  /**
   * Every call's latency counted in {@linkcode LATENCY_BUCKETS_MS} (one
   * count per bucket, not cumulative; the last is above the largest bound).
   */
  histogram: number[];
  /** The sum of every call's latency, in milliseconds. */
  latencySumMs: number;
}

/** Upper bounds of the latency histogram's buckets, in milliseconds. */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  0.5,
  1,
  2.5,
  5,
  10,
  25,
  50,
  100,
  250,
  500,
  1000,
  2500,
  5000,
  10000,
];

/**
 * Counts calls and keeps the latencies of the last `window` calls.
 *
 * @example
 * ```ts
 * import { CallStats } from "./call_stats.ts";
 * const stats = new CallStats();
 * for (let ms = 1; ms <= 100; ms++) stats.record(ms, ms > 98);
 * const s = stats.snapshot();
 * if (s.calls !== 100 || s.errors !== 2 || s.p50Ms !== 50) throw new Error(JSON.stringify(s));
 * ```
 */
export class CallStats {
  #calls = 0;
  #errors = 0;
  readonly #latencies: Float64Array;
  #next = 0;
  #filled = 0;
  readonly #histogram = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  #sumMs = 0;

  /** @param window How many recent latencies to keep. */
  constructor(window = 1024) {
    this.#latencies = new Float64Array(window);
  }

  /** Records one call. */
  record(latencyMs: number, failed: boolean): void {
    this.#calls++;
    if (failed) this.#errors++;
    this.#latencies[this.#next] = latencyMs;
    this.#next = (this.#next + 1) % this.#latencies.length;
    this.#filled = Math.min(this.#filled + 1, this.#latencies.length);
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS_MS.length && latencyMs > LATENCY_BUCKETS_MS[bucket]!) bucket++;
    this.#histogram[bucket]!++;
    this.#sumMs += latencyMs;
  }

  /** The counters and percentiles now. */
  snapshot(): CallStatsSnapshot {
    const sorted = this.#latencies.slice(0, this.#filled).sort();
    const at = (q: number) =>
      sorted.length === 0
        ? 0
        : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
    return {
      calls: this.#calls,
      errors: this.#errors,
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      histogram: [...this.#histogram],
      latencySumMs: this.#sumMs,
    };
  }
}

/**
 * Reads a process's resident set size from `/proc`, in bytes.
 *
 * @param pid The process.
 * @returns The RSS, or `undefined` when it cannot be read (gone, not Linux).
 * @example
 * ```ts
 * import { readRss } from "./call_stats.ts";
 * const rss = readRss(Deno.pid);
 * if (rss !== undefined && rss <= 0) throw new Error();
 * ```
 */
export function readRss(pid: number): number | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * Reads the resident set size of a process and all its descendants, in
 * bytes (a sandboxed executable's: the shell, bubblewrap and the plugin's
 * own processes). One pass over `/proc`.
 *
 * @param root The process at the top of the tree.
 * @returns The sum, or `undefined` when `root` cannot be read.
 * @example
 * ```ts
 * import { readTreeRss } from "./call_stats.ts";
 * const rss = readTreeRss(Deno.pid);
 * if (rss !== undefined && rss <= 0) throw new Error();
 * ```
 */
export function readTreeRss(root: number): number | undefined {
  const own = readRss(root);
  if (own === undefined) return undefined;
  const children = new Map<number, number[]>();
  try {
    for (const entry of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      try {
        const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
        const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        children.set(parent, [...(children.get(parent) ?? []), Number(entry.name)]);
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    return own;
  }
  let total = own;
  const queue = [...(children.get(root) ?? [])];
  for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
    total += readRss(pid) ?? 0;
    queue.push(...(children.get(pid) ?? []));
  }
  return total;
}
