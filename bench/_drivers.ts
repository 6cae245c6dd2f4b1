/**
 * The client side of the transport benchmark: one driver per variant, all
 * measuring the same figures against a server started by
 * {@linkcode startServer}. Deno variants go through Connect's API
 * (`createClient`); the floor through a raw socket; grpc-go runs its own
 * client (`bench/go/`) and reports its figures as JSON lines.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { createClient } from "../src/npm/connect.ts";
import { create, fromBinary, toBinary } from "../src/npm/protobuf.ts";
import {
  type InteropRequest,
  InteropRequestSchema,
  InteropResponseSchema,
  InteropService,
} from "../src/gen/bulkhead/testing/v1/interop_pb.ts";
import {
  type BatchProcessorProcessBatchRequest,
  BatchProcessorProcessBatchRequestSchema,
  BatchProcessorProcessBatchResponseSchema,
  BatchProcessorService,
} from "../src/gen/redpanda/runtime/v1alpha1/processor_pb.ts";
import type { TransportKind } from "../src/transport/transport.ts";
import { connectorFor } from "../src/transport/connectors.ts";
import { FLOOR_BATCH, FLOOR_UNARY } from "./_server.ts";

/** How much each figure measures. */
export interface BenchConfig {
  /** Unmeasured 64 B calls first (a quarter of them for 4 KiB). */
  warmup: number;
  /** Sequential 64 B calls timed. */
  n64: number;
  /** Sequential 4 KiB calls timed. */
  n4k: number;
  /** Sequential 1 MiB calls timed. */
  n1m: number;
  /** Duration of each throughput figure, in milliseconds. */
  millis: number;
  /** Items per batch. */
  items: number;
  /** Bytes per item. */
  itemSize: number;
}

/** One figure as a client reports it (latencies in µs). */
export interface Reported {
  figure: string;
  p50?: number;
  p99?: number;
  perSecond?: number;
}

/** What a Deno-side driver does; the measuring loops are shared. */
interface Driver {
  unary(request: InteropRequest): Promise<unknown>;
  /** Echoes 64 B messages on one stream for `millis`; returns messages received. */
  bidi(millis: number): Promise<number>;
  /** One ProcessBatch round trip; returns the items that came back. */
  batch(request: BatchProcessorProcessBatchRequest): Promise<number>;
  close(): Promise<void>;
}

const ROOT = fileURLToPath(new URL("../", import.meta.url)).replace(/\/$/, "");

/** A running server process; disposing closes its stdin and waits for it. */
export interface ServerProcess extends AsyncDisposable {
  /** The process id. */
  pid: number;
}

/** Starts a server (`deno run bench/_server.ts KIND` or the Go peer) and waits for READY. */
export async function startServer(command: string, args: string[]): Promise<ServerProcess> {
  const child = new Deno.Command(command, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
    env: { RUST_BACKTRACE: "0" },
  }).spawn();
  const stdin = child.stdin.getWriter();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const stop = async () => {
    await stdin.close().catch(() => {});
    await lines.cancel().catch(() => {});
    return await child.status;
  };
  while (!seen.includes("READY\n")) {
    const { value, done } = await lines.read();
    if (done) {
      const status = await stop();
      throw new Error(
        `Cannot start the bench server ${args.join(" ")}: exited with ${status.code}`,
      );
    }
    seen += value;
  }
  return {
    pid: child.pid,
    [Symbol.asyncDispose]: async () => void await stop(),
  };
}

/** The Deno server command for `kind`. */
export function denoServer(kind: TransportKind | "floor", path: string): [string, string[]] {
  return [Deno.execPath(), ["run", "-A", `${ROOT}/bench/_server.ts`, kind, path]];
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function latency(
  driver: Driver,
  size: number,
  warmup: number,
  n: number,
): Promise<{ p50: number; p99: number }> {
  const request = create(InteropRequestSchema, { payload: new Uint8Array(size).fill(7) });
  for (let i = 0; i < warmup; i++) await driver.unary(request);
  const times = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await driver.unary(request);
    times[i] = (performance.now() - start) * 1000;
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

async function concurrent(driver: Driver, millis: number): Promise<number> {
  const request = create(InteropRequestSchema, { payload: new Uint8Array(64).fill(7) });
  let calls = 0;
  const start = performance.now();
  const deadline = start + millis;
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (performance.now() < deadline) {
      await driver.unary(request);
      calls++;
    }
  }));
  return calls / ((performance.now() - start) / 1000);
}

function batchRequest(config: BenchConfig): BatchProcessorProcessBatchRequest {
  return create(BatchProcessorProcessBatchRequestSchema, {
    batch: {
      messages: Array.from({ length: config.items }, () => ({
        payload: { case: "bytes" as const, value: new Uint8Array(config.itemSize).fill(7) },
      })),
    },
  });
}

async function batches(driver: Driver, config: BenchConfig): Promise<number> {
  const request = batchRequest(config);
  for (let i = 0; i < 20; i++) await driver.batch(request);
  let items = 0;
  const start = performance.now();
  while (performance.now() - start < config.millis) {
    const n = await driver.batch(request);
    if (n !== config.items) throw new Error(`Batch came back with ${n} items`);
    items += n;
  }
  return items / ((performance.now() - start) / 1000);
}

/** Runs every figure through `driver`, in the Go client's order. */
async function measure(driver: Driver, config: BenchConfig): Promise<Reported[]> {
  try {
    const results: Reported[] = [];
    results.push({ figure: "unary 64 B", ...await latency(driver, 64, config.warmup, config.n64) });
    results.push({
      figure: "unary 4 KiB",
      ...await latency(driver, 4096, config.warmup >> 2, config.n4k),
    });
    results.push({ figure: "unary 1 MiB", ...await latency(driver, 1 << 20, 10, config.n1m) });
    await concurrent(driver, config.millis / 4);
    results.push({ figure: "64 in flight", perSecond: await concurrent(driver, config.millis) });
    await driver.bidi(config.millis / 4);
    const start = performance.now();
    const echoed = await driver.bidi(config.millis);
    results.push({ figure: "bidi 64 B", perSecond: echoed / ((performance.now() - start) / 1000) });
    results.push({ figure: "batch", perSecond: await batches(driver, config) });
    return results;
  } finally {
    await driver.close();
  }
}

/** Measures a Deno transport through Connect's typed clients. */
export async function measureTransport(
  kind: TransportKind,
  path: string,
  config: BenchConfig,
): Promise<Reported[]> {
  const channel = (await connectorFor(kind)).dial(path, { readMaxBytes: 64 << 20 });
  const interop = createClient(InteropService, channel.transport);
  const processor = createClient(BatchProcessorService, channel.transport);
  const payload = new Uint8Array(64).fill(7);
  return await measure({
    unary: (request) => interop.unary(request),
    async bidi(millis) {
      const deadline = performance.now() + millis;
      async function* requests() {
        while (performance.now() < deadline) yield { payload };
      }
      let received = 0;
      for await (const _ of interop.bidi(requests())) received++;
      return received;
    },
    async batch(request) {
      const response = await processor.processBatch(request);
      return response.batches[0]?.messages.length ?? 0;
    },
    close: () => channel.close(),
  }, config);
}

/** A length-prefixed protobuf client on a raw socket; answers come in order. */
class FloorClient {
  #conn: Deno.Conn;
  #waiting: ((body: Uint8Array) => void)[] = [];
  #head = 0;
  #reading: Promise<void>;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.#reading = this.#read();
  }

  /** Answers awaited. */
  get outstanding(): number {
    return this.#waiting.length - this.#head;
  }

  /** Encodes a frame: length, kind, body. */
  static frame(kind: number, body: Uint8Array): Uint8Array {
    const out = new Uint8Array(5 + body.length);
    new DataView(out.buffer).setUint32(0, body.length);
    out[4] = kind;
    out.set(body, 5);
    return out;
  }

  /** Registers one awaited answer per frame in `data`, then writes `data`. */
  async send(data: Uint8Array, answers: ((body: Uint8Array) => void)[]): Promise<void> {
    for (const answer of answers) this.#waiting.push(answer);
    while (data.length > 0) data = data.subarray(await this.#conn.write(data));
  }

  call(kind: number, body: Uint8Array): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      this.send(FloorClient.frame(kind, body), [resolve]).catch(reject);
    });
  }

  async close(): Promise<void> {
    this.#conn.close();
    await this.#reading;
  }

  async #read(): Promise<void> {
    let buf = new Uint8Array(1 << 16);
    let have = 0;
    try {
      while (true) {
        if (have === buf.length) {
          const grown = new Uint8Array(buf.length * 2);
          grown.set(buf);
          buf = grown;
        }
        const n = await this.#conn.read(buf.subarray(have));
        if (n === null) break;
        have += n;
        let off = 0;
        while (have - off >= 5) {
          const len = new DataView(buf.buffer, off).getUint32(0);
          if (have - off < 5 + len) {
            if (5 + len > buf.length) {
              const grown = new Uint8Array(5 + len);
              grown.set(buf.subarray(off, have));
              buf = grown;
              have -= off;
              off = 0;
            }
            break;
          }
          const resolve = this.#waiting[this.#head]!;
          this.#waiting[this.#head++] = () => {};
          if (this.#head > 4096) {
            this.#waiting = this.#waiting.slice(this.#head);
            this.#head = 0;
          }
          resolve(buf.slice(off + 5, off + 5 + len));
          off += 5 + len;
        }
        buf.copyWithin(0, off, have);
        have -= off;
      }
    } catch {
      // Closed.
    }
  }
}

/** Measures the floor: the same protobuf-es work over a raw Deno Unix socket. */
export async function measureFloor(path: string, config: BenchConfig): Promise<Reported[]> {
  const client = new FloorClient(await Deno.connect({ transport: "unix", path }));
  const payload = new Uint8Array(64).fill(7);
  return await measure({
    async unary(request) {
      const reply = await client.call(FLOOR_UNARY, toBinary(InteropRequestSchema, request));
      return fromBinary(InteropResponseSchema, reply);
    },
    async bidi(millis) {
      // Pipelined as a stream is: up to 1024 messages outstanding, each refill one write.
      const deadline = performance.now() + millis;
      let received = 0;
      let wake: (() => void) | undefined;
      let threshold = 512;
      const onReply = (body: Uint8Array) => {
        fromBinary(InteropResponseSchema, body);
        received++;
        if (client.outstanding <= threshold) wake?.();
      };
      while (performance.now() < deadline) {
        const frames: Uint8Array[] = [];
        while (client.outstanding + frames.length < 1024) {
          const body = toBinary(InteropRequestSchema, create(InteropRequestSchema, { payload }));
          frames.push(FloorClient.frame(FLOOR_UNARY, body));
        }
        const data = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
        let p = 0;
        for (const f of frames) {
          data.set(f, p);
          p += f.length;
        }
        const woken = new Promise<void>((resolve) => wake = resolve);
        await client.send(data, frames.map(() => onReply));
        await woken;
      }
      threshold = 0;
      if (client.outstanding > 0) await new Promise<void>((resolve) => wake = resolve);
      return received;
    },
    async batch(request) {
      const reply = await client.call(
        FLOOR_BATCH,
        toBinary(BatchProcessorProcessBatchRequestSchema, request),
      );
      const response = fromBinary(BatchProcessorProcessBatchResponseSchema, reply);
      return response.batches[0]?.messages.length ?? 0;
    },
    close: () => client.close(),
  }, config);
}

/** Runs the grpc-go client against the grpc-go server at `path`. */
export async function measureGo(
  binary: string,
  path: string,
  config: BenchConfig,
): Promise<Reported[]> {
  const { warmup, n64, n4k, n1m, millis, items, itemSize } = config;
  const { success, stdout, stderr } = await new Deno.Command(binary, {
    args: ["client", path, ...[warmup, n64, n4k, n1m, millis, items, itemSize].map(String)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(`The grpc-go bench client failed\n${new TextDecoder().decode(stderr)}`);
  }
  return new TextDecoder().decode(stdout).trim().split("\n").map((line) => JSON.parse(line));
}
