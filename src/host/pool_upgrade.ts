/**
 * Hot upgrade of a pool: its processes swapped for a new version without
 * losing a call. The new version's keepers start beside the old ones and
 * must pass their start (handshake, health or ready check); then new leases
 * go to them while calls in flight on the old processes finish there. The
 * old processes stay (idle) until the new version's probation ends, so a
 * new version that crashes within it is rolled back at once; then they
 * stop. Past the drain timeout, calls still on an old process are cut: the
 * guarded transport resends a `RETRYABLE` one to the new version, any other
 * fails with a `PluginCrashedError` that says why.
 *
 * @module
 */
import { type Deadline, deadline } from "../_timing.ts";
import { PluginError } from "./errors.ts";
import type { Keeper } from "./keeper.ts";
import type { PluginPool } from "./pool.ts";
import type { PluginOptions } from "./plugin_options.ts";
import type { SupervisorEvent } from "./supervisor_options.ts";
import { UpgradeFailedError } from "./upgrade_error.ts";
import {
  describeVersion,
  type UpgradeEvent,
  type UpgradeOptions,
  type UpgradePhase,
  type UpgradeResult,
} from "./upgrade_options.ts";

/**
 * Upgrades one pool, one upgrade at a time: a second `upgrade()` waits for
 * the first to end.
 *
 * @example
 * ```ts ignore
 * const upgrader = new PoolUpgrader(pool);
 * const result = await upgrader.upgrade({ plugin: { module: "./kv_v2.ts" } });
 * console.log(result.switchMs, result.drained, result.drainMs);
 * ```
 */
export class PoolUpgrader {
  readonly #pool: PluginPool;
  #last: Promise<unknown> = Promise.resolve();

  /** @param pool The pool whose processes it swaps. */
  constructor(pool: PluginPool) {
    this.#pool = pool;
  }

  /**
   * Swaps the pool's processes for a new version (see the module's doc).
   *
   * @param options The new version, the drain timeout, the probation, a signal.
   * @returns The figures: time to switch, to drain, calls drained and cut.
   * @throws {UpgradeFailedError} When the new version failed to start or
   *   crashed within its probation, or the upgrade was aborted: the old
   *   version serves every call.
   * @throws {PluginError} When the pool is not running (failed, stopped).
   */
  upgrade(options: UpgradeOptions): Promise<UpgradeResult> {
    const next = this.#last.then(() => upgradePool(this.#pool, options));
    this.#last = next.catch(() => {});
    return next;
  }
}

/** What ended a probation early. */
type Trouble = { phase: UpgradePhase; reason: string };

async function upgradePool(pool: PluginPool, options: UpgradeOptions): Promise<UpgradeResult> {
  options.signal?.throwIfAborted();
  if (pool.state !== "running") {
    throw new PluginError(
      pool.name,
      `Cannot upgrade plugin "${pool.name}": it is ${pool.state}` +
        (pool.state === "failed" ? " (reset() it first)" : ""),
    );
  }
  const began = performance.now();
  const old = [...pool.keepers];
  const oldPlugin = old[0]?.pluginOptions;
  const plugin: PluginOptions = {
    ...(oldPlugin?.logger ? { logger: oldPlugin.logger } : {}),
    ...options.plugin,
  };
  const to = describeVersion(plugin);
  const emit = (event: UpgradeEvent) => pool.emit(event);
  emit({ type: "upgrade-started", plugin: pool.name, from: describe(oldPlugin), to });
  // the same slots: names and stats carry on (upper#0, upper#1)
  const fresh = old.map((k) => pool.keeper(plugin, old.length > 1, k.slot));
  const watch = watchTrouble(pool, fresh, options.signal);
  const timers: Deadline[] = [];
  const giveUp = new AbortController();
  try {
    // 1. start the new version beside the old one
    const started = await Promise.allSettled(fresh.map((k) => k.start(watch.signal)));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
    // a new process that crashes before all are ready failed its start too
    const early = watch.trouble
      ? {
        ...watch.trouble,
        phase: watch.trouble.phase === "aborted" ? "aborted" as const : "start" as const,
      }
      : failed
      ? { phase: "start" as const, reason: messageOf(failed.reason) }
      : undefined;
    if (early) {
      await Promise.all(fresh.map((k) => k.stop()));
      throw rolledBack(pool, emit, to, early, failed?.reason);
    }
    // 2. switch: new leases go to the new version, calls in flight stay
    for (const keeper of fresh) pool.add(keeper);
    for (const keeper of old) pool.withdraw(keeper);
    // a crash of the new version rolls back at once, before the calls it
    // cut off are resent (they go to the old version then)
    const rollBack = () => {
      for (const keeper of old) pool.add(keeper);
      for (const keeper of fresh) pool.withdraw(keeper);
    };
    watch.onTrouble = rollBack;
    const switchedAt = performance.now();
    const draining = old.reduce((n, k) => n + k.inFlight, 0);
    const oldPids = pidsOf(old);
    const newPids = pidsOf(fresh);
    emit({
      type: "upgrade-switched",
      plugin: pool.name,
      pids: newPids,
      switchMs: switchedAt - began,
      draining,
    });
    // 3. drain the old processes (bounded) while the new version is on probation
    const drainTime = deadline(options.drainTimeoutMs ?? 30_000);
    timers.push(drainTime);
    let drainedAt: number | undefined;
    const drainStop = AbortSignal.any([drainTime.signal, giveUp.signal]);
    const drained = Promise.all(old.map((k) => pool.drained(k, drainStop))).then(() => {
      drainedAt = performance.now();
    });
    const probation = deadline(options.probationMs ?? 5000);
    timers.push(probation);
    await untilAborted(AbortSignal.any([probation.signal, watch.signal]));
    const trouble = watch.trouble;
    if (trouble) {
      rollBack(); // done already by onTrouble; idempotent
      await Promise.all(
        fresh.map((k) =>
          pool.retire(k, { signal: drainTime.signal, reason: `rolled back: ${trouble.reason}` })
        ),
      );
      throw rolledBack(pool, emit, to, trouble);
    }
    watch.close();
    // 4. stop the old processes; calls still on them past the drain timeout are cut
    await drained;
    const cut = old.reduce((n, k) => n + k.inFlight, 0);
    const reason = `stopped by an upgrade to ${to}: still busy at its drain timeout ` +
      `(${options.drainTimeoutMs ?? 30_000} ms)`;
    await Promise.all(old.map((k) => pool.retire(k, { signal: drainTime.signal, reason })));
    const result: UpgradeResult = {
      plugin: pool.name,
      oldPids,
      newPids,
      switchMs: switchedAt - began,
      drainMs: (drainedAt ?? performance.now()) - switchedAt,
      drained: draining - cut,
      cut,
    };
    emit({ type: "upgrade-completed", ...result });
    return result;
  } finally {
    watch.close();
    // a drain still waited for (after a rollback) ends now: no timer outlives the upgrade
    giveUp.abort();
    for (const timer of timers) timer.clear();
  }
}

/**
 * Watches the new keepers for trouble — one restarting or failed after a
 * crash, a kill or a failed start; the pool failing or stopping — and the
 * caller's signal, until closed. `signal` aborts at the first. The new
 * keepers share their slots (and so their events' `slot`) with the old
 * ones, so each event is a cue to look at the new keepers' states.
 */
function watchTrouble(pool: PluginPool, fresh: Keeper[], signal: AbortSignal | undefined) {
  const controller = new AbortController();
  const watch = {
    trouble: undefined as Trouble | undefined,
    signal: controller.signal,
    /** Called at once (synchronously) at the first trouble. */
    onTrouble: undefined as (() => void) | undefined,
    close: () => {
      unsubscribe();
      signal?.removeEventListener("abort", onAbort);
    },
  };
  const report = (trouble: Trouble) => {
    if (watch.trouble) return;
    watch.trouble = trouble;
    watch.onTrouble?.();
    controller.abort(new Error(trouble.reason));
  };
  const onAbort = () => report({ phase: "aborted", reason: abortReason(signal) });
  signal?.addEventListener("abort", onAbort, { once: true });
  const unsubscribe = pool.subscribe((event: SupervisorEvent) => {
    if (event.type === "stopped") report({ phase: "aborted", reason: "the pool was stopped" });
    if (event.type === "failed") report({ phase: "probation", reason: event.reason });
    for (const keeper of fresh) {
      const state = keeper.state;
      if (state.t === "restarting" || (state.t === "failed" && keeper.lastExit)) {
        report({ phase: "probation", reason: keeper.lastExit?.reason ?? "it crashed" });
      }
    }
  });
  return watch;
}

function rolledBack(
  pool: PluginPool,
  emit: (event: UpgradeEvent) => void,
  to: string,
  trouble: Trouble,
  cause?: unknown,
): UpgradeFailedError {
  emit({
    type: "upgrade-rolled-back",
    plugin: pool.name,
    phase: trouble.phase,
    reason: trouble.reason,
  });
  return new UpgradeFailedError(
    pool.name,
    { phase: trouble.phase, to, reason: trouble.reason },
    cause === undefined ? undefined : { cause },
  );
}

/** Resolves once `signal` aborts. */
function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

function pidsOf(keepers: readonly Keeper[]): number[] {
  return keepers.flatMap((k) => k.state.t === "ready" ? [k.state.plugin.pid] : []);
}

function describe(plugin: PluginOptions | undefined): string {
  return plugin === undefined ? "nothing" : describeVersion(plugin);
}

function abortReason(signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason.message : "aborted by its signal";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
