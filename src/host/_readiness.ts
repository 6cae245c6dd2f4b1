/**
 * Waiting for a starting plugin to be ready: its handshake line, then a
 * health check answered on its socket; and draining go-plugin's stdio stream.
 * Internal to `src/host/`.
 *
 * @module
 */
import { Code, ConnectError, createClient } from "../npm/connect.ts";
import { type GrpcChannel, TlsPeerError } from "../transport/transport.ts";
import { GRPCStdio, StdioData_Channel } from "../gen/plugin/grpc_stdio_pb.ts";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.ts";
import { HandshakeError, PluginExitedError } from "./errors.ts";
import { ABORTED, type StartDeadline } from "./_start_deadline.ts";
import { type Handshake, type HandshakeExpectation, validateHandshake } from "./handshake.ts";
import { type Logger, logLine } from "./logger.ts";
import { MAX_LINE_CHARS } from "./lines.ts";
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

/**
 * Waits for the first stdout line and validates it. Every wait ends when
 * `deadline` fires, whatever the pipes do: a plugin that exits halfway
 * through its line while a child still holds its stdout is an exit, not a
 * wait for a newline that may never come.
 *
 * @throws {HandshakeError} When the line is refused, or the deadline fires first.
 * @throws {PluginExitedError} When the plugin exits first.
 */
export async function waitForHandshake(
  name: string,
  process: PluginProcess,
  deadline: StartDeadline,
  expect: HandshakeExpectation,
): Promise<Handshake> {
  let line: { text: string | undefined } | undefined;
  const firstLine = process.firstLine().then((text) => line = { text });
  try {
    // the first line, the end of stdout or the exit, whichever comes first
    await deadline.race(Promise.race([firstLine, process.exited]));
    if (line?.text !== undefined) {
      return validateHandshake(name, line.text, expect, () => process.stderrTail());
    }
    // no line: stdout closed or the process exited; its exit tells why
    const status = await deadline.race(process.exited);
    await deadline.race(process.drained(500)).catch(() => {});
    // a line printed just before exiting says more than the exit does (a
    // line without its newline counts once stdout has closed, not before)
    if (line?.text !== undefined) {
      validateHandshake(name, line.text, expect, () => process.stderrTail());
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
    if (error !== ABORTED) throw error;
    throw deadline.error(name, "no handshake line", { stderrTail: process.stderrTail() });
  }
}

/**
 * The error for a plugin that exited while the host waited for it to be
 * ready, once its last stderr lines have been read (or the deadline fired).
 */
export async function exitedBeforeReady(
  name: string,
  process: PluginProcess,
  deadline: StartDeadline,
): Promise<PluginExitedError> {
  await deadline.race(process.drained(500)).catch(() => {});
  return new PluginExitedError(
    name,
    "before it was ready",
    process.exitStatus!,
    process.stderrTail(),
  );
}

/** How {@linkcode waitForHealth} waits. */
export interface HealthWait {
  /** Wait for SERVING; with `false`, any answer will do. */
  serving: boolean;
  /** The handshake line, for errors. */
  line: string;
  /** Told (once per status) when the plugin answers other than SERVING. */
  logger?: Logger;
}

/**
 * Asks `grpc.health.v1.Health/Check` until SERVING (or any status when
 * `serving` is false; UNIMPLEMENTED counts as ready), backing off, until
 * `deadline` fires. A TLS failure (handshake, or a certificate other than
 * the announced one) ends the wait at once: retrying would get the same answer.
 *
 * @throws {HandshakeError} `tls` at once on a TLS failure; `socket` when no answer came in time; `aborted` when the caller aborted.
 * @throws {PluginExitedError} When the plugin exits first.
 */
export async function waitForHealth(
  name: string,
  process: PluginProcess,
  channel: GrpcChannel,
  deadline: StartDeadline,
  { serving, line, logger }: HealthWait,
): Promise<void> {
  const health = createClient(Health, channel.transport);
  const signal = deadline.signal;
  let lastError: unknown;
  // the last status the plugin answered: the start error reports it, whatever failed after
  let lastAnswer: string | undefined;
  for (let delay = 5; !signal.aborted; delay = Math.min(delay * 2, 200)) {
    if (process.exitStatus) {
      throw await exitedBeforeReady(name, process, deadline);
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
      if (error instanceof ConnectError && error.cause instanceof TlsPeerError) {
        // asking again gets the same answer: fail now, not at the start's deadline
        throw new HandshakeError(name, "tls", error.cause.message, {
          line,
          stderrTail: process.stderrTail(),
          cause: error.cause,
        });
      }
      // a check the deadline cut short says less than the answer before it
      if (signal.aborted && lastError !== undefined) break;
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
    await deadline.sleep(delay);
  }
  if (process.exitStatus) {
    throw await exitedBeforeReady(name, process, deadline);
  }
  const error = lastError instanceof Error ? lastError.message : String(lastError);
  const why = lastAnswer === undefined || error === `health status ${lastAnswer}`
    ? error
    : `last answer: health status ${lastAnswer}; then: ${error}`;
  throw deadline.error(name, "its socket did not answer a health check", {
    detail: why,
    reason: "socket",
    stderrTail: process.stderrTail(),
    cause: lastError,
  });
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
        for (const line of lines) logLine(logger, name, line, "stdio");
        // a plugin that never sends a newline must not grow the host's memory
        while (pending[key].length > MAX_LINE_CHARS) {
          logLine(logger, name, pending[key].slice(0, MAX_LINE_CHARS), "stdio");
          pending[key] = pending[key].slice(MAX_LINE_CHARS);
        }
      }
    } catch {
      // UNIMPLEMENTED (older go-plugin, or no stdio service) or the plugin is gone
    }
    for (const rest of [pending.out, pending.err]) {
      if (rest) logLine(logger, name, rest, "stdio");
    }
  })();
}
