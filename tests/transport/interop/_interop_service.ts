/**
 * The Deno InteropService, implemented as the grpc-go and grpcio servers
 * are (see `proto/bulkhead/testing/v1/interop.proto`).
 *
 * @module
 */
import { Code, ConnectError, type HandlerContext } from "../../../src/npm/connect.ts";
import {
  InteropDetailSchema,
  type InteropRequest,
  InteropService,
  type ObserveResponse,
} from "../../../src/gen/bulkhead/testing/v1/interop_pb.ts";
import { create } from "../../../src/npm/protobuf.ts";
import { ObserveResponseSchema } from "../../../src/gen/bulkhead/testing/v1/interop_pb.ts";
import type { ServiceRegistration } from "../../../src/transport/transport.ts";
import { register } from "../h2/_helpers.ts";

function failure(request: InteropRequest): ConnectError {
  return new ConnectError(
    request.failMessage,
    request.failCode as Code,
    undefined,
    request.failWithDetails
      ? [{ desc: InteropDetailSchema, value: { reason: "because", attempt: 3 } }]
      : undefined,
  );
}

/** Makes a fresh InteropService (its Observe records are per instance). */
export function interopService(): ServiceRegistration {
  const ended = new Map<string, ObserveResponse>();
  let wake: (() => void)[] = [];

  async function hang(ctx: HandlerContext, tag: string): Promise<never> {
    if (!ctx.signal.aborted) {
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
    }
    const deadline = ConnectError.from(ctx.signal.reason).code === Code.DeadlineExceeded;
    ended.set(
      tag,
      create(ObserveResponseSchema, {
        ended: deadline ? "deadline" : "canceled",
        hadDeadline: ctx.timeoutMs() !== undefined,
      }),
    );
    const woken = wake;
    wake = [];
    for (const resolve of woken) resolve();
    throw new ConnectError(
      deadline ? "deadline" : "canceled",
      deadline ? Code.DeadlineExceeded : Code.Canceled,
    );
  }

  return register(InteropService, {
    async unary(request, ctx) {
      if (request.hangTag !== "") await hang(ctx, request.hangTag);
      if (request.failCode !== 0) throw failure(request);
      return { payload: request.payload };
    },
    async *serverStream(request, ctx) {
      for (let index = 0; index < request.count; index++) {
        yield { payload: request.payload, index };
      }
      if (request.hangTag !== "") await hang(ctx, request.hangTag);
      if (request.failCode !== 0) throw failure(request);
    },
    async clientStream(requests, ctx) {
      let index = 0;
      let receivedBytes = 0n;
      let payload: Uint8Array = new Uint8Array();
      let failed: InteropRequest | undefined;
      for await (const request of requests) {
        if (request.hangTag !== "") await hang(ctx, request.hangTag);
        if (request.failCode !== 0) failed ??= request;
        index++;
        receivedBytes += BigInt(request.payload.length);
        payload = request.payload;
      }
      if (failed !== undefined) throw failure(failed);
      return { payload, index, receivedBytes };
    },
    async *bidi(requests, ctx) {
      let index = 0;
      for await (const request of requests) {
        if (request.hangTag !== "") await hang(ctx, request.hangTag);
        if (request.failCode !== 0) throw failure(request);
        yield { payload: request.payload, index: index++ };
      }
    },
    async observe(request, ctx) {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        for (const resolve of wake) resolve();
      }, 20_000);
      try {
        while (!ended.has(request.tag)) {
          if (timedOut || ctx.signal.aborted) {
            throw new ConnectError(`no call with tag "${request.tag}" ended`, Code.NotFound);
          }
          await new Promise<void>((resolve) => wake.push(resolve));
        }
        return ended.get(request.tag)!;
      } finally {
        clearTimeout(timer);
      }
    },
  });
}
