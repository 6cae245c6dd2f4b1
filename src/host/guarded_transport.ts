/**
 * A call's policy over a pool of plugin processes, as a Connect
 * `Transport`: a default deadline, a crash of the process serving the call
 * as a typed {@linkcode PluginCrashedError}, one resend of a
 * {@linkcode RETRYABLE} call, and a hung process killed. The one attempt
 * of a call on a leased process ({@linkcode guardedAttempt}) is shared with
 * the pipeline, which routes its batches itself.
 *
 * @module
 */
import {
  Code,
  ConnectError,
  type ContextKey,
  type ContextValues,
  createContextKey,
  type Transport,
} from "../npm/connect.ts";
import { PluginCrashedError } from "./errors.ts";
import type { Lease, LeaseSource } from "./lease.ts";

/**
 * Marks a call as safe to send twice: when its plugin crashes while serving
 * it, the supervisor sends it once more, alone, to the restarted plugin.
 *
 * @example
 * ```ts ignore
 * import { createContextValues } from "npm:@connectrpc/connect@2.2.0";
 * await client.get({ key: "a" }, { contextValues: createContextValues().set(RETRYABLE, true) });
 * ```
 */
export const RETRYABLE: ContextKey<boolean> = createContextKey(false, {
  description: "bulkhead.retryable",
});

/** The codes a call fails with when its process went away. */
const CRASH_CODES = new Set([
  Code.Unavailable,
  Code.Canceled,
  Code.Internal,
  Code.Unknown,
  Code.Aborted,
]);

/**
 * One attempt of a call on a leased process: reports the answer to the
 * lease, counts a missed deadline toward the hung-plugin kill, and turns a
 * failure of a process that died into {@linkcode PluginCrashedError}. Does
 * not release the lease.
 *
 * @param lease The leased process.
 * @param signal The caller's signal (an abort is the caller's, not a crash).
 * @param send The call, on the process's transport.
 * @returns What `send` returned.
 * @throws {PluginCrashedError} When the process died during the call.
 * @throws {ConnectError} The call's own error otherwise.
 * @example
 * ```ts ignore
 * const reply = await guardedAttempt(lease, signal, (t) => t.unary(method, signal, 5000, undefined, input));
 * ```
 */
export async function guardedAttempt<R>(
  lease: Lease,
  signal: AbortSignal | undefined,
  send: (transport: Transport) => Promise<R>,
): Promise<R> {
  try {
    const result = await send(lease.plugin.transport);
    lease.answered(false);
    return result;
  } catch (error) {
    lease.answered(true);
    if (signal?.aborted || !(error instanceof ConnectError)) throw error;
    if (error.code === Code.DeadlineExceeded) {
      lease.missedDeadline();
      throw error;
    }
    if (!CRASH_CODES.has(error.code)) throw error;
    throw await lease.crashOf(error) ?? error;
  }
}

/** Options for {@linkcode guardedTransport}. */
export interface GuardedOptions {
  /**
   * Deadline of a call that names none, in milliseconds; waiting for a
   * process (a restart, room under its limit) counts against it.
   * @default {30000}
   */
  callTimeoutMs?: number;
}

/**
 * A Connect transport that leases a process from `source` for each call.
 * Retry policy: a call marked {@linkcode RETRYABLE} whose process crashed
 * under it is sent once more (never twice), alone — nothing else is sent to
 * that process until it is answered, and fresh calls wait for it — so a
 * call that crashes the plugin again costs only itself. A stream counts as
 * in flight on its process until it ends, and fails with
 * {@linkcode PluginCrashedError} when the process dies mid-stream.
 *
 * @param source Where processes are leased (a pool).
 * @param options The default deadline.
 * @returns The transport.
 * @example
 * ```ts ignore
 * const client = createClient(KvService, guardedTransport(pool, { callTimeoutMs: 5000 }));
 * ```
 */
export function guardedTransport(source: LeaseSource, options: GuardedOptions = {}): Transport {
  const defaultMs = options.callTimeoutMs ?? 30_000;
  return {
    unary: (method, signal, timeoutMs, header, input, contextValues) =>
      call(
        source,
        signal,
        Date.now() + (timeoutMs ?? defaultMs),
        contextValues,
        (transport, ms) => transport.unary(method, signal, ms, header, input, contextValues),
        (result, lease) => {
          lease.release();
          return result;
        },
      ),
    stream: (method, signal, timeoutMs, header, input, contextValues) =>
      call(
        source,
        signal,
        Date.now() + (timeoutMs ?? defaultMs),
        undefined,
        (transport, ms) => transport.stream(method, signal, ms, header, input, contextValues),
        (response, lease) => ({ ...response, message: watchStream(response.message, lease) }),
      ),
  };
}

/** Sends a call; a retryable call whose process crashed is resent once, alone. */
async function call<R>(
  source: LeaseSource,
  signal: AbortSignal | undefined,
  deadline: number,
  contextValues: ContextValues | undefined,
  send: (transport: Transport, timeoutMs: number) => Promise<R>,
  keep: (result: R, lease: Lease) => R,
): Promise<R> {
  try {
    return await attempt(source, signal, deadline, false, send, keep);
  } catch (error) {
    if (!(error instanceof PluginCrashedError) || !contextValues?.get(RETRYABLE)) throw error;
  }
  return await attempt(source, signal, deadline, true, send, keep);
}

/** One attempt: lease, send, and hand the lease to `keep` on success (it releases). */
async function attempt<R>(
  source: LeaseSource,
  signal: AbortSignal | undefined,
  deadline: number,
  alone: boolean,
  send: (transport: Transport, timeoutMs: number) => Promise<R>,
  keep: (result: R, lease: Lease) => R,
): Promise<R> {
  const lease = await source.lease({ alone, deadline, ...(signal ? { signal } : {}) });
  let result: R;
  try {
    result = await guardedAttempt(
      lease,
      signal,
      (t) => send(t, Math.max(1, deadline - Date.now())),
    );
  } catch (error) {
    lease.release();
    throw error;
  }
  return keep(result, lease);
}

/** A stream's messages; its lease is released when it ends. */
async function* watchStream<T>(messages: AsyncIterable<T>, lease: Lease): AsyncGenerator<T> {
  try {
    yield* messages;
  } catch (error) {
    if (error instanceof ConnectError && CRASH_CODES.has(error.code)) {
      const crash = await lease.crashOf(error);
      if (crash) throw crash;
    }
    throw error;
  } finally {
    lease.release();
  }
}
