/**
 * A pool of identical plugin processes, each kept alive by a
 * {@linkcode Keeper}, leased one call (or batch) at a time: to the least
 * busy, or — for a call resent after a crash, or a suspect batch — to one
 * with nothing else in flight. Library supervisors and pipeline stages
 * both lease from it.
 *
 * @module
 */
import { LeaseDesk } from "./_lease_desk.ts";
import { PluginError, PluginFailedError } from "./errors.ts";
import { Keeper } from "./keeper.ts";
import type { Lease, LeaseOptions, LeaseSource } from "./lease.ts";
import { defaultPluginName } from "./plugin_name.ts";
import type { PluginOptions } from "./plugin_options.ts";
import { CrashBudget } from "./restart_policy.ts";
import type {
  PluginStats,
  SupervisorEvent,
  SupervisorOptions,
  SupervisorState,
} from "./supervisor_options.ts";

export type { Lease, LeaseOptions, LeaseSource };

/**
 * Options for {@linkcode PluginPool.start}: a supervisor's, but for the
 * default deadline of a call (a pool's leases are not calls).
 */
export type PoolOptions = Omit<SupervisorOptions, "callTimeoutMs">;

/**
 * Keeps `size` processes of a plugin running and leases them out.
 *
 * @example
 * ```ts ignore
 * await using pool = await PluginPool.start({ plugin: { module: "./p.ts" }, size: 2 });
 * const lease = await pool.lease({ alone: true });
 * try {
 *   await lease.plugin.client(MyService).run({});
 * } finally {
 *   lease.release();
 * }
 * ```
 */
export class PluginPool implements LeaseSource, AsyncDisposable {
  readonly #options: PoolOptions;
  readonly #budget: CrashBudget;
  #keepers: Keeper[] = [];
  readonly #retiring = new Set<Keeper>();
  readonly #desk: LeaseDesk;
  readonly #listeners = new Set<(event: SupervisorEvent) => void>();
  #state: SupervisorState = "starting";
  #failure = "";
  #exits = 0;
  #retiredRestarts = 0;
  #nextSlot = 0;
  #stopping: Promise<void> | undefined;
  /** The plugin's name. */
  readonly name: string;

  private constructor(options: PoolOptions) {
    this.#options = options;
    this.name = options.plugin.name ?? defaultPluginName(options.plugin);
    this.#budget = new CrashBudget(options.restart, options.now, options.random);
    this.#desk = new LeaseDesk(this.name, () => this.#keepers, () => this.#retiring);
  }

  /**
   * Starts every process and resolves when all are ready.
   *
   * @param options The plugin and how to keep it.
   * @returns The running pool.
   * @throws {HandshakeError} When a process fails its first start (the others are stopped).
   * @throws {PluginExitedError} When a process exits during its first start.
   */
  static async start(options: PoolOptions): Promise<PluginPool> {
    const size = options.size ?? 1;
    const pool = new PluginPool(options);
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(
        `Cannot supervise plugin "${pool.name}": size must be a positive integer`,
      );
    }
    const keepers = Array.from({ length: size }, () => pool.keeper(options.plugin, size > 1));
    pool.#keepers = keepers;
    try {
      await Promise.all(keepers.map((k) => k.start(options.plugin.signal)));
    } catch (error) {
      await pool.stop();
      throw error;
    }
    if (pool.#state === "starting") pool.#state = "running";
    return pool;
  }

  /** Where the pool is. */
  get state(): SupervisorState {
    return this.#state;
  }

  /** The keepers that take leases now (not those retiring). */
  get keepers(): readonly Keeper[] {
    return this.#keepers;
  }

  /** Leases held now, on every keeper (retiring ones included). */
  get inFlight(): number {
    let n = 0;
    for (const k of [...this.#keepers, ...this.#retiring]) n += k.inFlight;
    return n;
  }

  /** Restarts of its processes so far (retired keepers' included). */
  get restarts(): number {
    return this.#keepers.reduce((n, k) => n + k.restarts, this.#retiredRestarts);
  }

  /** Unexpected exits of its processes so far (crashes and kills). */
  get exits(): number {
    return this.#exits;
  }

  /**
   * Listens to the pool's events (besides `onEvent`).
   *
   * @returns A function that stops listening.
   */
  subscribe(listener: (event: SupervisorEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * A new keeper with this pool's budget, health checks and events, not yet
   * started nor taking leases: `await keeper.start()`, then
   * {@linkcode PluginPool.add} it (how an upgrade brings in a new version).
   *
   * @param plugin The plugin options of its processes.
   * @param numbered Whether its name carries `#slot`.
   * @param slot Its index. @default {the next unused one}
   */
  keeper(plugin: PluginOptions, numbered: boolean, slot = this.#nextSlot): Keeper {
    this.#nextSlot = Math.max(this.#nextSlot, slot + 1);
    return new Keeper({
      plugin,
      name: numbered ? `${this.name}#${slot}` : this.name,
      slot,
      budget: this.#budget,
      healthIntervalMs: this.#options.healthIntervalMs ?? 5000,
      maxMissedDeadlines: this.#options.maxMissedDeadlines ?? 3,
      emit: (event) => this.#emit(event),
      onChange: () => this.#wake(),
      onBudgetSpent: (reason) => this.#fail(reason),
    });
  }

  /** Makes a started (or withdrawn) keeper take leases. */
  add(keeper: Keeper): void {
    this.#retiring.delete(keeper);
    if (!this.#keepers.includes(keeper)) this.#keepers = [...this.#keepers, keeper];
    this.#wake();
  }

  /**
   * Takes a keeper out of leasing, running (an upgrade's old version, until
   * probation ends): its leases run on; `stop()` stops it, `add()` takes it back.
   */
  withdraw(keeper: Keeper): void {
    if (!this.#keepers.includes(keeper)) return;
    this.#keepers = this.#keepers.filter((k) => k !== keeper);
    this.#retiring.add(keeper);
    this.#desk.unreserve(keeper);
    this.#wake();
  }

  /** Waits until a keeper has no lease out (true), or `signal` aborts (false). */
  async drained(keeper: Keeper, signal?: AbortSignal): Promise<boolean> {
    while (keeper.inFlight > 0 && !signal?.aborted) await this.#desk.wait(Infinity, signal);
    return keeper.inFlight === 0;
  }

  /** Tells the pool's listeners (`onEvent`, subscribers) of an event, e.g. an upgrade's. */
  emit(event: SupervisorEvent): void {
    this.#emit(event);
  }

  /**
   * Takes a keeper out of leasing, waits until its leases are released (or
   * `signal` aborts: the drain timeout), then stops it: gracefully when it
   * drained, else at once, and the calls still in flight on it fail with
   * {@linkcode PluginCrashedError} naming `reason` (so a `RETRYABLE` one is
   * resent, to another process).
   *
   * @param keeper A keeper of this pool.
   * @param options The drain's signal, and the reason calls cut off see.
   * @returns Whether it drained before the signal.
   */
  async retire(
    keeper: Keeper,
    options: { signal?: AbortSignal; reason?: string } = {},
  ): Promise<boolean> {
    const { signal, reason = "its process was retired before the call finished" } = options;
    this.withdraw(keeper);
    this.#retiring.add(keeper);
    const drained = await this.drained(keeper, signal);
    await keeper.stop(drained ? undefined : reason);
    this.#retiring.delete(keeper);
    this.#retiredRestarts += keeper.restarts;
    return drained;
  }

  /** Statistics per keeper: state, pid, restarts, last exit, calls, errors, latency, RSS. */
  stats(): PluginStats[] {
    return this.#keepers.map((keeper) => {
      const state = keeper.state;
      const stats: PluginStats = {
        name: keeper.name,
        slot: keeper.slot,
        state: state.t,
        restarts: keeper.restarts,
        inFlight: keeper.inFlight,
        ...keeper.calls.snapshot(),
      };
      if (state.t === "ready") {
        stats.pid = state.plugin.pid;
        const rss = state.plugin.info().rssBytes;
        if (rss !== undefined) stats.rssBytes = rss;
      }
      if (keeper.lastExit) stats.lastExit = keeper.lastExit;
      return stats;
    });
  }

  /**
   * Brings a `failed` pool back: forgets past crashes and starts every
   * process again (the start's signal, long since used, is not). When one
   * fails to start, the pool is `failed` again with that reason (the
   * others stopped), so `reset()` may be called again. Does nothing unless
   * failed.
   *
   * @throws {PluginError} When a process fails to start again.
   */
  async reset(): Promise<void> {
    if (this.#state !== "failed") return;
    this.#budget.reset();
    this.#state = "starting";
    this.#emit({ type: "reset", plugin: this.name });
    try {
      await Promise.all(this.#keepers.map((keeper) => keeper.start()));
    } catch (error) {
      if (this.#state === "starting") {
        this.#fail(`reset failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      throw error;
    }
    if (this.#state === "starting") this.#state = "running";
    this.#wake();
  }

  /** Stops every process (gracefully, then by force); waiting leases fail. Idempotent. */
  stop(): Promise<void> {
    return this.#stopping ??= (async () => {
      this.#state = "stopped";
      this.#wake();
      await Promise.all([...this.#keepers, ...this.#retiring].map((k) => k.stop()));
      this.#emit({ type: "stopped", plugin: this.name });
    })();
  }

  /** Stops the pool; see {@linkcode PluginPool.stop}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** Leases a process; see {@linkcode LeaseSource.lease}. */
  lease(options: LeaseOptions = {}): Promise<Lease> {
    return this.#desk.lease(options, () => {
      if (this.#state === "failed") throw new PluginFailedError(this.name, this.#failure);
      if (this.#state === "stopped") {
        throw new PluginError(this.name, `Cannot call plugin "${this.name}": it was stopped`);
      }
    });
  }

  #wake(): void {
    this.#desk.wake();
  }

  #fail(reason: string): void {
    if (this.#state === "stopped") return;
    this.#state = "failed";
    this.#failure = reason;
    for (const keeper of this.#keepers) keeper.fail(reason);
    this.#emit({ type: "failed", plugin: this.name, reason });
    this.#wake();
  }

  #emit(event: SupervisorEvent): void {
    if (event.type === "crashed") this.#exits++;
    for (const listener of [this.#options.onEvent, ...this.#listeners]) {
      try {
        listener?.(event);
      } catch {
        // a listener's failure is not the pool's
      }
    }
  }
}
