/**
 * The Deno side of the transport benchmark's servers, run as a separate
 * process as a plugin would be: `deno run -A bench/_server.ts KIND SOCKET`
 * with KIND `native`, `node-http2` or `floor`. Prints `READY` once
 * listening; stops when stdin closes.
 *
 * - `native` / `node-http2`: InteropService (Unary and Bidi echo the
 *   payload) and BatchProcessorService (ProcessBatch returns the batch)
 *   served through the transport's `GrpcServer`, with Connect service
 *   implementations.
 * - `floor`: the same work without gRPC or HTTP/2 — frames of a 4-byte
 *   big-endian length, a kind byte (`0` InteropRequest → InteropResponse,
 *   `1` ProcessBatch request → response) and protobuf-es bytes, over a raw
 *   Deno Unix socket; replies to one read leave in one write.
 *
 * @module
 */
import { create, fromBinary, toBinary } from "../src/npm/protobuf.ts";
import {
  InteropRequestSchema,
  InteropResponseSchema,
  InteropService,
} from "../src/gen/bulkhead/testing/v1/interop_pb.ts";
import {
  BatchProcessorProcessBatchRequestSchema,
  BatchProcessorProcessBatchResponseSchema,
  BatchProcessorService,
} from "../src/gen/redpanda/runtime/v1alpha1/processor_pb.ts";
import type { ServiceRegistration } from "../src/transport/transport.ts";
import { connectorFor } from "../src/transport/connectors.ts";
import type { InteropRequest } from "../src/gen/bulkhead/testing/v1/interop_pb.ts";
import type { BatchProcessorProcessBatchRequest } from "../src/gen/redpanda/runtime/v1alpha1/processor_pb.ts";

/** Frame kinds of the floor protocol. */
export const FLOOR_UNARY = 0;
/** A ProcessBatch request/response frame of the floor protocol. */
export const FLOOR_BATCH = 1;

const services: ServiceRegistration[] = [
  {
    service: InteropService,
    implementation: {
      unary: (request: InteropRequest) => ({ payload: request.payload }),
      async *bidi(requests: AsyncIterable<InteropRequest>) {
        for await (const request of requests) yield { payload: request.payload };
      },
    },
  },
  {
    service: BatchProcessorService,
    implementation: {
      processBatch: (request: BatchProcessorProcessBatchRequest) => ({
        batches: request.batch === undefined ? [] : [request.batch],
      }),
    },
  },
];

function answer(kind: number, body: Uint8Array): Uint8Array {
  if (kind === FLOOR_UNARY) {
    const request = fromBinary(InteropRequestSchema, body);
    return toBinary(
      InteropResponseSchema,
      create(InteropResponseSchema, { payload: request.payload }),
    );
  }
  const request = fromBinary(BatchProcessorProcessBatchRequestSchema, body);
  return toBinary(
    BatchProcessorProcessBatchResponseSchema,
    create(BatchProcessorProcessBatchResponseSchema, {
      batches: request.batch === undefined ? [] : [request.batch],
    }),
  );
}

async function serveFloorConnection(conn: Deno.Conn): Promise<void> {
  let buf = new Uint8Array(1 << 16);
  let have = 0;
  try {
    while (true) {
      if (have === buf.length) {
        const grown = new Uint8Array(buf.length * 2);
        grown.set(buf);
        buf = grown;
      }
      const n = await conn.read(buf.subarray(have));
      if (n === null) break;
      have += n;
      let off = 0;
      const replies: Uint8Array[] = [];
      let size = 0;
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
        const body = answer(buf[off + 4]!, buf.subarray(off + 5, off + 5 + len));
        const out = new Uint8Array(5 + body.length);
        new DataView(out.buffer).setUint32(0, body.length);
        out[4] = buf[off + 4]!;
        out.set(body, 5);
        replies.push(out);
        size += out.length;
        off += 5 + len;
      }
      buf.copyWithin(0, off, have);
      have -= off;
      let data = replies.length === 1 ? replies[0]! : new Uint8Array(size);
      if (replies.length > 1) {
        let p = 0;
        for (const reply of replies) {
          data.set(reply, p);
          p += reply.length;
        }
      }
      while (data.length > 0) data = data.subarray(await conn.write(data));
    }
  } catch {
    // The client went away.
  }
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

async function serveFloor(path: string, stop: Promise<void>): Promise<void> {
  const listener = Deno.listen({ transport: "unix", path });
  const conns = new Set<Promise<void>>();
  void stop.then(() => listener.close());
  console.log("READY");
  try {
    for await (const conn of listener) {
      const serving = serveFloorConnection(conn);
      conns.add(serving);
      void serving.then(() => conns.delete(serving));
    }
  } catch {
    // Closed.
  }
  await Promise.all(conns);
}

if (import.meta.main) {
  const [kind, path] = Deno.args;
  if ((kind !== "native" && kind !== "node-http2" && kind !== "floor") || path === undefined) {
    console.error("usage: _server.ts native|node-http2|floor SOCKET");
    Deno.exit(2);
  }
  const stop = (async () => {
    for await (const _ of Deno.stdin.readable) {
      // Wait for EOF.
    }
  })();
  if (kind === "floor") {
    await serveFloor(path, stop);
    Deno.exit(0);
  }
  const server = await (await connectorFor(kind)).listen(path, services);
  console.log("READY");
  await stop;
  await server.close();
  Deno.exit(0);
}
