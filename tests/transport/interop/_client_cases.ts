/**
 * The interop cases as run by our own client, through Connect's API: the
 * same cases, inputs and checks as the grpc-go and grpcio clients.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Code, ConnectError, createClient, type Transport } from "../../../src/npm/connect.ts";
import {
  InteropDetailSchema,
  type InteropRequest,
  InteropService,
} from "../../../src/gen/bulkhead/testing/v1/interop_pb.ts";
import type { MessageInitShape } from "../../../src/npm/protobuf.ts";
import type { InteropRequestSchema } from "../../../src/gen/bulkhead/testing/v1/interop_pb.ts";

type Client = ReturnType<typeof createClient<typeof InteropService>>;
type Request = MessageInitShape<typeof InteropRequestSchema>;

const MiB = 1024 * 1024;
const FAIL_MESSAGE = 'dénied: 100% "quoted"\nline';
const TAG = `deno-${Date.now().toString(36)}`;

/** The same bytes the Go and Python clients send for size `n`. */
export function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + n) & 0xff;
  return b;
}

async function expectError(call: () => Promise<unknown>, code: Code): Promise<ConnectError> {
  const error = await call().then(() => undefined, (e) => e);
  assert.ok(error instanceof ConnectError, `succeeded or failed oddly (${error}), want ${code}`);
  assert.equal(error.code, code, `got ${Code[error.code]} (${error.rawMessage})`);
  return error;
}

async function* sequence(requests: Iterable<Request>): AsyncIterable<Request> {
  yield* requests;
}

async function observe(client: Client, tag: string, want: "deadline" | "canceled") {
  const res = await client.observe({ tag });
  if (want === "deadline") assert.ok(res.hadDeadline, "the server's handler had no deadline");
  else assert.deepEqual([res.ended, res.hadDeadline], ["canceled", false]);
}

/** Each case by name (see `CASES` in `peers.ts`). */
export const clientCases: Record<string, (transport: Transport) => Promise<void>> = {
  async "unary sizes"(transport) {
    const client = createClient(InteropService, transport);
    for (const n of [0, 1, 64, 16 * 1024, MiB, 16 * MiB]) {
      const res = await client.unary({ payload: pattern(n) });
      assert.deepEqual(res.payload, pattern(n), `${n} B`);
    }
  },
  async "server streaming"(transport) {
    const client = createClient(InteropService, transport);
    let i = 0;
    for await (const res of client.serverStream({ payload: pattern(1000), count: 200 })) {
      assert.equal(res.index, i++);
      assert.deepEqual(res.payload, pattern(1000));
    }
    assert.equal(i, 200);
  },
  async "client streaming"(transport) {
    const client = createClient(InteropService, transport);
    const sizes = Array.from({ length: 100 }, (_, i) => i * 100);
    const res = await client.clientStream(sequence(sizes.map((n) => ({ payload: pattern(n) }))));
    assert.equal(res.index, 100);
    assert.equal(res.receivedBytes, BigInt(sizes.reduce((a, b) => a + b)));
    assert.deepEqual(res.payload, pattern(9900));
  },
  async "bidi streaming"(transport) {
    const client = createClient(InteropService, transport);
    const outbox: Uint8Array[] = [];
    let answered: () => void = () => {};
    async function* requests(): AsyncIterable<Request> {
      for (let i = 0; i < 100; i++) {
        const payload = i === 99 ? pattern(4 * MiB) : pattern(i * 37);
        outbox.push(payload);
        const next = new Promise<void>((resolve) => answered = resolve);
        yield { payload };
        await next;
      }
    }
    let i = 0;
    for await (const res of client.bidi(requests())) {
      assert.equal(res.index, i++);
      assert.deepEqual(res.payload, outbox.shift());
      answered();
    }
    assert.equal(i, 100);
  },
  async "error status"(transport) {
    const client = createClient(InteropService, transport);
    const error = await expectError(
      () => client.unary({ failCode: Code.PermissionDenied, failMessage: FAIL_MESSAGE }),
      Code.PermissionDenied,
    );
    assert.equal(error.rawMessage, FAIL_MESSAGE);
  },
  async "error details"(transport) {
    const client = createClient(InteropService, transport);
    const error = await expectError(
      () =>
        client.unary({
          failCode: Code.FailedPrecondition,
          failMessage: "with details",
          failWithDetails: true,
        }),
      Code.FailedPrecondition,
    );
    const details = error.findDetails(InteropDetailSchema);
    assert.equal(details.length, 1);
    assert.deepEqual([details[0]!.reason, details[0]!.attempt], ["because", 3]);
  },
  async "error after stream messages"(transport) {
    const client = createClient(InteropService, transport);
    let got = 0;
    const error = await expectError(async () => {
      for await (
        const _ of client.serverStream({
          payload: pattern(10),
          count: 3,
          failCode: Code.Aborted,
          failMessage: "after three",
        })
      ) got++;
    }, Code.Aborted);
    assert.equal(got, 3);
    assert.equal(error.rawMessage, "after three");
  },
  async deadline(transport) {
    const client = createClient(InteropService, transport);
    const tag = `${TAG}-deadline`;
    await expectError(
      () => client.unary({ hangTag: tag }, { timeoutMs: 200 }),
      Code.DeadlineExceeded,
    );
    await observe(client, tag, "deadline");
  },
  async cancellation(transport) {
    const client = createClient(InteropService, transport);
    const tag = `${TAG}-cancel`;
    const abort = new AbortController();
    const stream = client.serverStream({ payload: pattern(5), count: 1, hangTag: tag }, {
      signal: abort.signal,
    })[Symbol.asyncIterator]();
    assert.equal((await stream.next()).done, false);
    abort.abort();
    await expectError(() => stream.next(), Code.Canceled);
    await observe(client, tag, "canceled");
  },
  async "concurrent calls"(transport) {
    const client = createClient(InteropService, transport);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => client.unary({ payload: pattern(i) })),
    );
    results.forEach((res, i) => assert.deepEqual(res.payload, pattern(i)));
  },
};

/** Unused-type guard so the request type stays tied to the generated one. */
export type { InteropRequest };
