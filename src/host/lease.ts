/**
 * A lease of one pooled plugin process for one call (or one batch): what a
 * {@linkcode PluginPool} hands out, and the interface of anything that
 * hands out leases.
 *
 * @module
 */
import type { PluginCrashedError } from "./errors.ts";
import type { Keeper } from "./keeper.ts";
import type { Plugin } from "./plugin.ts";

/** Options for {@linkcode LeaseSource.lease}. */
export interface LeaseOptions {
  /**
   * Lease a process with nothing else in flight, and send it nothing else
   * until released (for a call resent after a crash, or a suspect batch).
   * The process is reserved at once (no new work goes to it) and the lease
   * waits until it drains. Fresh leases wait for a process reserved so.
   * @default {false}
   */
  alone?: boolean;
  /** Gives up waiting (the lease throws the signal's reason). */
  signal?: AbortSignal;
  /**
   * When to give up waiting for a process (epoch milliseconds): the lease
   * then throws a `ConnectError` with `Code.DeadlineExceeded`.
   * @default {never}
   */
  deadline?: number;
}

/**
 * One process, leased: call `plugin.transport` (or `plugin.client`), report
 * how the call went, and release it. A process leased is counted in flight
 * until released, so the pool routes around it.
 *
 * @example
 * ```ts ignore
 * const lease = await pool.lease({ deadline: Date.now() + 30_000 });
 * try {
 *   const reply = await lease.plugin.client(FixtureService).echo({ text: "hi" });
 *   lease.answered(false);
 * } catch (error) {
 *   lease.answered(true);
 *   throw await lease.crashOf(error) ?? error;
 * } finally {
 *   lease.release();
 * }
 * ```
 */
export interface Lease {
  /** The leased process. */
  readonly plugin: Plugin;
  /** Which of its keeper's processes it is (changes with every restart). */
  readonly generation: number;
  /** The keeper's index in its pool. */
  readonly slot: number;
  /** The keeper of the process. */
  readonly keeper: Keeper;
  /** Whether the lease runs alone. */
  readonly alone: boolean;
  /** Whether the leased process is still its keeper's ready process (not exited, not replaced). */
  readonly current: boolean;
  /**
   * The call was answered, or failed: records its latency and outcome. A
   * success stops counting it as sent (an open stream stays in flight until
   * released), resets the hung count, raises the limit of calls in flight
   * and tells the crash budget a restart recovered; a failure counts as sent
   * until released (a crash meanwhile halves the limit of what was sent).
   * Once.
   *
   * @param failed Whether the call failed.
   */
  answered(failed: boolean): void;
  /** The call missed its deadline: past the pool's limit in a row, the process is killed as hung. */
  missedDeadline(): void;
  /**
   * Whether the leased process died during the call (waits briefly for
   * its exit): the crash, naming the reason, or `undefined` when it lives.
   *
   * @param cause The call's own error.
   */
  crashOf(cause: unknown): Promise<PluginCrashedError | undefined>;
  /** Kills the leased process, if still current; calls on it fail with `reason`. */
  kill(reason: string): void;
  /** Gives the process back. Idempotent. */
  release(): void;
}

/** Anything that leases processes: a pool, or a wrapper that swaps pools. */
export interface LeaseSource {
  /** The plugin's name, for errors. */
  readonly name: string;
  /**
   * Leases the least busy ready process under its limit of calls in flight,
   * waiting for one when none is.
   *
   * @throws {PluginFailedError} When the pool spent its crash budget.
   * @throws {PluginError} When the pool was stopped.
   * @throws {ConnectError} `DeadlineExceeded` when the deadline passes first.
   */
  lease(options?: LeaseOptions): Promise<Lease>;
}
