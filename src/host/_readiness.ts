/**
 * Waiting for a starting plugin to be ready: its handshake line, then a
 * health check answered on its socket; and draining go-plugin's stdio stream.
 * Internal to `src/host/`.
 *
 * @module
 */
import { Code, ConnectError, createClient } from "../npm/connect.ts";
import type { GrpcChannel } from "../transport/transport.ts";
import { GRPCStdio, StdioData_Channel } from "../gen/plugin/grpc_stdio_pb.ts";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.ts";
import { HandshakeError, PluginExitedError } from "./errors.ts";
import { type Handshake, type HandshakeExpectation, validateHandshake } from "./handshake.ts";
import { type Logger, toLogRecord } from "./logger.ts";
import type { PluginProcess } from "./plugin_process.ts";

/** Bulkhead's, go-plugin's and go-plugin's Python example's refusals of a wrong cookie. */
const COOKIE_REFUSAL = /magic cookie|not meant to be executed directly/i;

/** What to say when the plugin's last words refuse the host's magic cookie. */
function cookieNote(tail: readonly string[], expect: HandshakeExpectation): string | undefined {
  if (!tail.some((line) => COOKIE_REFUSAL.test(line))) return undefined;
  const key = expect.cookieKey === undefined
    ? "its magic cookie"
    : `the cookie ${expect.cookieKey}`;
  return `it refused the host's magic cookie. The host set ${key} (value not shown); ` +
    "the plugin expects another variable or a different value: start it with its " +
    "application's cookie (--cookie KEY=VALUE, or the cookie option of Plugin.start)";
}

/** Waits for the first stdout line and validates it; fails on exit, abort or timeout. */
export async function waitForHandshake(
  name: string,
  process: PluginProcess,
  signal: AbortSignal,
  timeoutMs: number,
  expect: HandshakeExpectation,
): Promise<Handshake> {
  const aborted = abortPromise(signal);
  try {
    const first = await Promise.race([
      process.firstLine().then((line) => ({ line })),
      process.exited.then((status) => ({ status })),
      aborted.promise,
    ]);
    if ("line" in first && first.line !== undefined) {
      return validateHandshake(name, first.line, expect, () => process.stderrTail());
    }
    // stdout closed or the process exited: wait for the exit to tell why
    const status = "status" in first
      ? first.status
      : await Promise.race([process.exited, aborted.promise]);
    await process.drained(500);
    // a line printed just before exiting says more than the exit does
    const late = await process.firstLine();
    if (late !== undefined) {
      validateHandshake(name, late, expect, () => process.stderrTail());
    }
    const tail = process.stderrTail();
    throw new PluginExitedError(
      name,
      "before its handshake",
      status,
      tail,
      cookieNote(tail, expect),
    );
  } catch (error) {
    if (error === aborted.token) {
      throw new HandshakeError(
        name,
        "timeout",
        signal.reason instanceof DOMException && signal.reason.name === "TimeoutError"
          ? `no handshake line within ${timeoutMs} ms`
          : "start was aborted",
        { stderrTail: process.stderrTail(), cause: signal.reason },
      );
    }
    throw error;
  } finally {
    aborted.dispose();
  }
}

/**
 * The error for a plugin that exited while the host waited for it to be
 * ready, once its last stderr lines have been read.
 */
export async function exitedBeforeReady(
  name: string,
  process: PluginProcess,
): Promise<PluginExitedError> {
  await process.drained(500);
  return new PluginExitedError(
    name,
    "before it was ready",
    process.exitStatus!,
    process.stderrTail(),
  );
}

/** How {@linkcode waitForHealth} waits. */
export interface HealthWait {
  /** Aborts the wait (the start's deadline or the caller's signal). */
  signal: AbortSignal;
  /** For the error message: how long the start may take. */
  timeoutMs: number;
  /** Wait for SERVING; with `false`, any answer will do. */
  serving: boolean;
  /** Told (once per status) when the plugin answers other than SERVING. */
  logger?: Logger;
}

/**
 * Asks `grpc.health.v1.Health/Check` until SERVING (or any status when
 * `serving` is false; UNIMPLEMENTED counts as ready), backing off.
 */
export async function waitForHealth(
  name: string,
  process: PluginProcess,
  channel: GrpcChannel,
  { signal, timeoutMs, serving, logger }: HealthWait,
): Promise<void> {
  const health = createClient(Health, channel.transport);
  let lastError: unknown;
  // the last status the plugin answered: the start error reports it, whatever failed after
  let lastAnswer: string | undefined;
  for (let delay = 5; !signal.aborted; delay = Math.min(delay * 2, 200)) {
    if (process.exitStatus) {
      throw await exitedBeforeReady(name, process);
    }
    try {
      const response = await health.check({ service: "plugin" }, { signal, timeoutMs: 2000 });
      if (!serving || response.status === HealthCheckResponse_ServingStatus.SERVING) return;
      const status = HealthCheckResponse_ServingStatus[response.status] ?? String(response.status);
      if (status !== lastAnswer) {
        logger?.({
          plugin: name,
          level: "debug",
          message: `not ready yet: its health check answers ${status}; waiting for SERVING`,
          source: "host",
        });
      }
      lastAnswer = status;
      lastError = new Error(`health status ${status}`);
    } catch (error) {
      if (error instanceof ConnectError && error.code === Code.Unimplemented) return;
      if (lastError === undefined && !signal.aborted) {
        logger?.({
          plugin: name,
          level: "debug",
          message: `not ready yet: its health check failed (${
            error instanceof Error ? error.message : String(error)
          }); retrying`,
          source: "host",
        });
      }
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, delay));
  }
  if (process.exitStatus) {
    throw await exitedBeforeReady(name, process);
  }
  const error = lastError instanceof Error ? lastError.message : String(lastError);
  const why = lastAnswer === undefined || error === `health status ${lastAnswer}`
    ? error
    : `last answer: health status ${lastAnswer}; then: ${error}`;
  const timedOut = signal.reason instanceof DOMException && signal.reason.name === "TimeoutError";
  throw new HandshakeError(
    name,
    "socket",
    timedOut
      ? `its socket did not answer a health check within ${timeoutMs} ms (${why})`
      : `start was aborted before its socket answered a health check with SERVING (${why})`,
    { stderrTail: process.stderrTail(), cause: lastError },
  );
}

/**
 * Streams go-plugin's stdio (a Go plugin's writes block until someone reads them) into the
 * logger. Resolves when the stream ends: the plugin exited or hung up, or has no stdio service.
 */
export function drainStdio(name: string, channel: GrpcChannel, logger: Logger): Promise<void> {
  const stdio = createClient(GRPCStdio, channel.transport);
  return (async () => {
    const decoders = { out: new TextDecoder(), err: new TextDecoder() };
    const pending = { out: "", err: "" };
    try {
      for await (const chunk of stdio.streamStdio({})) {
        const key = chunk.channel === StdioData_Channel.STDOUT ? "out" : "err";
        pending[key] += decoders[key].decode(chunk.data, { stream: true });
        const lines = pending[key].split("\n");
        pending[key] = lines.pop() ?? "";
        for (const line of lines) logger(toLogRecord(name, line, "stdio"));
      }
    } catch {
      // UNIMPLEMENTED (older go-plugin, or no stdio service) or the plugin is gone
    }
    for (const rest of [pending.out, pending.err]) {
      if (rest) logger(toLogRecord(name, rest, "stdio"));
    }
  })();
}

function abortPromise(signal: AbortSignal) {
  const token = Symbol("aborted");
  let onAbort!: () => void;
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(token);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  promise.catch(() => {});
  return { token, promise, dispose: () => signal.removeEventListener("abort", onAbort) };
}
