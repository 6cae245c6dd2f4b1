/**
 * Helpers for the native HTTP/2 transport tests: a temporary socket
 * directory, and fixture service implementations.
 *
 * @module
 */
import {
  Code,
  ConnectError,
  type HandlerContext,
  type ServiceImpl,
} from "../../../src/npm/connect.ts";
import { create, type DescService } from "../../../src/npm/protobuf.ts";
import { FixtureService } from "../../../src/gen/bulkhead/testing/v1/fixture_pb.ts";
import { GreeterService } from "../../../src/gen/bulkhead/examples/greeter/v1/greeter_pb.ts";
import { GRPCStdio, StdioData_Channel } from "../../../src/gen/plugin/grpc_stdio_pb.ts";
import {
  ServerReflection,
  type ServerReflectionRequest,
  ServerReflectionResponseSchema,
} from "../../../src/gen/grpc/reflection/v1/reflection_pb.ts";
import type { ServiceRegistration } from "../../../src/transport/transport.ts";

/** A temporary directory for a socket; removed on dispose. */
export async function socketDir(): Promise<AsyncDisposable & { path: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "bulkhead-h2-" });
  return {
    dir,
    path: `${dir}/s.sock`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** Pairs a service with a typed implementation. */
export function register<S extends DescService>(
  service: S,
  implementation: Partial<ServiceImpl<S>>,
): ServiceRegistration {
  return { service, implementation: implementation as ServiceRegistration["implementation"] };
}

/** Resolves after `ms` milliseconds or when `signal` aborts, whichever is first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done);
  });
}

/** Resolves when `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/**
 * The fixture service. `Echo` echoes; `text` selects behaviours:
 * `"error:<code>"` throws a ConnectError, `"throw"` throws a plain Error,
 * `"hang"` waits for the call's signal, `"meta"` echoes a request header
 * into response headers and trailers.
 */
export const fixture: ServiceRegistration = register(FixtureService, {
  async echo(request, ctx: HandlerContext) {
    const text = request.text;
    if (text.startsWith("error:")) {
      throw new ConnectError("fixture error: ünïcode % 100", Number(text.slice(6)) as Code, {
        "x-detail": "yes",
      });
    }
    if (text === "throw") throw new Error("plain failure");
    if (text === "hang") await aborted(ctx.signal);
    if (text === "meta") {
      ctx.responseHeader.set("x-echo", ctx.requestHeader.get("x-echo") ?? "");
      ctx.responseTrailer.set("x-trailer", "t");
    }
    return { payload: request.payload, text: request.text, pid: BigInt(Deno.pid) };
  },
  act(request) {
    return { result: `acted:${request.action}` };
  },
});

/** The greeter service. */
export const greeter: ServiceRegistration = register(GreeterService, {
  greet(request) {
    return { greeting: `Hello, ${request.name}!` };
  },
});

/** StreamStdio sends `count` messages (default 3) then ends; header `x-count` overrides. */
export const stdio: ServiceRegistration = register(GRPCStdio, {
  async *streamStdio(_request, ctx: HandlerContext) {
    const count = Number(ctx.requestHeader.get("x-count") ?? "3");
    const hang = ctx.requestHeader.get("x-hang") === "1";
    const size = Number(ctx.requestHeader.get("x-size") ?? "0");
    for (let i = 0; i < count; i++) {
      yield {
        channel: StdioData_Channel.STDOUT,
        data: size > 0
          ? new Uint8Array(size).fill(i & 0xff)
          : new TextEncoder().encode(`line ${i}`),
      };
    }
    if (hang) await aborted(ctx.signal);
  },
});

/** ServerReflectionInfo (bidi) answers each request with its `host` echoed in `validHost`. */
export const reflection: ServiceRegistration = register(ServerReflection, {
  async *serverReflectionInfo(requests: AsyncIterable<ServerReflectionRequest>) {
    for await (const request of requests) {
      if (request.host === "fail") throw new ConnectError("bidi failure", Code.FailedPrecondition);
      yield create(ServerReflectionResponseSchema, { validHost: `re:${request.host}` });
    }
  },
});

/** All fixture services. */
export const allServices: ServiceRegistration[] = [fixture, greeter, stdio, reflection];
