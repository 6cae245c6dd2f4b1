/**
 * Unary round-trip benchmark: the floor (length-prefixed protobuf Echo over
 * a raw Deno Unix socket, ping-pong), Bulkhead's native HTTP/2 transport,
 * and Connect on `node:http2`, measured in the same run.
 *
 * Run: `deno run -A bench/unary_bench.ts`
 *
 * @module
 */
import { createClient } from "../src/npm/connect.ts";
import { create, fromBinary, toBinary } from "../src/npm/protobuf.ts";
import {
  EchoRequestSchema,
  EchoResponseSchema,
  FixtureService,
} from "../src/gen/bulkhead/testing/v1/fixture_pb.ts";
import { nativeConnector } from "../src/transport/h2/native.ts";
import { nodeHttp2Connector } from "../src/transport/node_http2.ts";
import type { GrpcConnector, ServiceRegistration } from "../src/transport/transport.ts";

const PAYLOAD = new Uint8Array(64).fill(7);
const SEQUENTIAL = 5000;
const CONCURRENT_TOTAL = 20000;
const IN_FLIGHT = 64;

interface Result {
  name: string;
  p50: number;
  p99: number;
  callsPerSecond: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function measure(
  name: string,
  call: () => Promise<unknown>,
): Promise<Result> {
  for (let i = 0; i < 500; i++) await call();
  const times: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const start = performance.now();
    await call();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  let issued = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (issued++ < CONCURRENT_TOTAL) await call();
  }));
  const seconds = (performance.now() - start) / 1000;
  return {
    name,
    p50: percentile(times, 0.5) * 1000,
    p99: percentile(times, 0.99) * 1000,
    callsPerSecond: CONCURRENT_TOTAL / seconds,
  };
}

/** A raw length-prefixed Echo server and a ping-pong client with a response queue. */
async function floor(path: string): Promise<Result> {
  const listener = Deno.listen({ transport: "unix", path });
  const serving = (async () => {
    for await (const conn of listener) {
      void (async () => {
        const buf = new Uint8Array(1 << 16);
        let have = 0;
        try {
          while (true) {
            const n = await conn.read(buf.subarray(have));
            if (n === null) break;
            have += n;
            let off = 0;
            const replies: Uint8Array[] = [];
            while (have - off >= 4) {
              const len = new DataView(buf.buffer, off).getUint32(0);
              if (have - off < 4 + len) break;
              const request = fromBinary(EchoRequestSchema, buf.slice(off + 4, off + 4 + len));
              const body = toBinary(
                EchoResponseSchema,
                create(EchoResponseSchema, { payload: request.payload, text: request.text }),
              );
              const out = new Uint8Array(4 + body.length);
              new DataView(out.buffer).setUint32(0, body.length);
              out.set(body, 4);
              replies.push(out);
              off += 4 + len;
            }
            buf.copyWithin(0, off, have);
            have -= off;
            for (const reply of replies) {
              let data = reply;
              while (data.length > 0) data = data.subarray(await conn.write(data));
            }
          }
        } catch {
          // Closed.
        }
        conn.close();
      })();
    }
  })();
  const conn = await Deno.connect({ transport: "unix", path });
  const waiting: ((bytes: Uint8Array) => void)[] = [];
  const reading = (async () => {
    const buf = new Uint8Array(1 << 16);
    let have = 0;
    try {
      while (true) {
        const n = await conn.read(buf.subarray(have));
        if (n === null) break;
        have += n;
        let off = 0;
        while (have - off >= 4) {
          const len = new DataView(buf.buffer, off).getUint32(0);
          if (have - off < 4 + len) break;
          waiting.shift()!(buf.slice(off + 4, off + 4 + len));
          off += 4 + len;
        }
        buf.copyWithin(0, off, have);
        have -= off;
      }
    } catch {
      // Closed.
    }
  })();
  const call = async () => {
    const body = toBinary(EchoRequestSchema, create(EchoRequestSchema, { payload: PAYLOAD }));
    const out = new Uint8Array(4 + body.length);
    new DataView(out.buffer).setUint32(0, body.length);
    out.set(body, 4);
    const reply = new Promise<Uint8Array>((resolve) => waiting.push(resolve));
    await conn.write(out);
    return fromBinary(EchoResponseSchema, await reply);
  };
  const result = await measure("floor (raw socket)", call);
  conn.close();
  await reading;
  listener.close();
  await serving.catch(() => {});
  return result;
}

const echoService: ServiceRegistration = {
  service: FixtureService,
  implementation: {
    echo: (request: { payload: Uint8Array; text: string }) => ({
      payload: request.payload,
      text: request.text,
    }),
  } as ServiceRegistration["implementation"],
};

async function transport(name: string, connector: GrpcConnector, path: string): Promise<Result> {
  const server = await connector.listen(path, [echoService]);
  const channel = connector.dial(path);
  const client = createClient(FixtureService, channel.transport);
  try {
    return await measure(name, () => client.echo({ payload: PAYLOAD }));
  } finally {
    await channel.close();
    await server.close();
  }
}

const dir = await Deno.makeTempDir({ prefix: "bulkhead-bench-" });
try {
  const results = [
    await floor(`${dir}/floor.sock`),
    await transport("native h2", nativeConnector, `${dir}/native.sock`),
    await transport("node-http2", nodeHttp2Connector, `${dir}/node.sock`),
  ];
  const base = results[0]!;
  const row = (cells: string[]) =>
    console.log(cells.map((c, i) => i === 0 ? c.padEnd(20) : c.padStart(12)).join(" "));
  console.log(
    `unary Echo, 64 B payload; ${SEQUENTIAL} sequential calls, ${CONCURRENT_TOTAL} at ${IN_FLIGHT} in flight`,
  );
  row(["transport", "p50 µs", "p99 µs", "p50 ×floor", "calls/s", "×floor"]);
  for (const r of results) {
    row([
      r.name,
      r.p50.toFixed(1),
      r.p99.toFixed(1),
      (r.p50 / base.p50).toFixed(2),
      r.callsPerSecond.toFixed(0),
      (r.callsPerSecond / base.callsPerSecond).toFixed(2),
    ]);
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
