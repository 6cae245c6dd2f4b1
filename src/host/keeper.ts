/**
 * A keeper keeps one plugin process alive: it starts it, watches its health,
 * restarts it with backoff when it crashes (within a crash budget it shares
 * with its pool), and kills it when it hangs. Its state is a tagged union
 * entered through one function, which clears what the old state held.
 *
 * @module
 */
import { AdaptiveLimit } from "./adaptive_limit.ts";
import { CallStats } from "./call_stats.ts";
import { settledWithin } from "../_timing.ts";
import { watchHealth } from "./_health_watch.ts";
import { type ExitStatus, PluginCrashedError } from "./errors.ts";
import { explainExit } from "./limits.ts";
import { Plugin } from "./plugin.ts";
import type { KeeperOptions, KeeperState } from "./keeper_options.ts";
import type { PluginOptions } from "./plugin_options.ts";
import type { PluginStats, SupervisorEvent } from "./supervisor_options.ts";

export type { KeeperOptions, KeeperState };

/**
 * Keeps one plugin process alive. Made by a pool ({@linkcode PluginPool});
 * its load counters (`inFlight`, `sending`, `reserved`) belong to the pool's
 * leases.
 *
 * @example
 * ```ts ignore
 * const keeper = new Keeper({ plugin: { module: "./p.ts" }, name: "p", slot: 0, budget, … });
 * await keeper.start(AbortSignal.timeout(10_000));
 * console.log(keeper.state.t); // "ready"
 * await keeper.stop();
 * ```
 */
export class Keeper {
  readonly #options: KeeperOptions;
  #state: KeeperState = { t: "stopped" };
  #generation = 0;
  #stopping: Promise<void> | undefined;
  #lastExit: { plugin: Plugin; info: NonNullable<PluginStats["lastExit"]> } | undefined;
  #cutOff: { plugin: Plugin; reason: string } | undefined;
  /** The keeper's name. */
  readonly name: string;
  /** Its index in its pool. */
  readonly slot: number;
  /** Call counters and latencies of its processes. */
  readonly calls: CallStats = new CallStats();
  /** Its limit of calls in flight, adapted to crashes. */
  readonly limit: AdaptiveLimit = new AdaptiveLimit();
  /** How often its process was restarted. */
  restarts = 0;
  /** Leases held on it now (an open stream included). */
  inFlight = 0;
  /** Calls sent and not yet answered (an open stream's messages not counted). */
  sending = 0;
  /** A lease that runs alone holds it, or waits for it to drain: no new work. */
  reserved: object | undefined;

  /** @param options The plugin and the pool's shared parts. */
  constructor(options: KeeperOptions) {
    this.#options = options;
    this.name = options.name;
    this.slot = options.slot;
  }

  /** Where it is. */
  get state(): Readonly<KeeperState> {
    return this.#state;
  }

  /** The plugin options its processes are started with. */
  get pluginOptions(): PluginOptions {
    return this.#options.plugin;
  }

  /** The last unexpected exit. */
  get lastExit(): PluginStats["lastExit"] {
    return this.#lastExit?.info;
  }

  /**
   * Whether `generation` is the ready process now (it has not exited nor
   * been replaced).
   */
  serves(generation: number): boolean {
    return this.#state.t === "ready" && this.#state.generation === generation;
  }

  /**
   * Starts a process (first start or reset). On failure the keeper is
   * `failed` with the error's message, and the error is thrown.
   *
   * @param signal Aborts this start only; later restarts ignore it.
   * @throws {PluginError} When the plugin fails to start.
   */
  async start(signal?: AbortSignal): Promise<void> {
    const launch = new AbortController();
    try {
      await this.#launch(launch, signal);
    } catch (error) {
      // (a start stopped meanwhile, and maybe started again since, is not this one)
      if (this.#launching(launch)) this.#enter({ t: "failed", reason: messageOf(error) });
      throw error;
    }
  }

  /** Stops the process and anything pending, keeping the reason. */
  fail(reason: string): void {
    if (this.#state.t === "stopped") return;
    const plugin = this.#state.t === "ready" ? this.#state.plugin : undefined;
    this.#enter({ t: "failed", reason });
    void plugin?.stop();
  }

  /**
   * Stops the process and cancels restarts. Idempotent. Without a reason,
   * gracefully (then by force); with one, at once (SIGKILL), and calls
   * still in flight on it fail with {@linkcode PluginCrashedError} naming
   * that reason (a resent `RETRYABLE` call goes to another process).
   *
   * @param reason Why calls in flight are cut off, e.g. `"retired by an upgrade"`.
   */
  stop(reason?: string): Promise<void> {
    return this.#stopping ??= (async () => {
      const plugin = this.#state.t === "ready" ? this.#state.plugin : undefined;
      if (plugin && reason !== undefined) {
        this.#cutOff = { plugin, reason };
        this.#emit({ type: "killed", pid: plugin.pid, reason });
        plugin.kill("SIGKILL");
      }
      this.#enter({ t: "stopped" });
      await plugin?.stop();
    })();
  }

  /** Kills `plugin` with a reason (hung, unhealthy, retired) if it is still the current one. */
  kill(plugin: Plugin, reason: string): void {
    const state = this.#state;
    if (state.t !== "ready" || state.plugin !== plugin || state.killReason !== undefined) return;
    state.killReason = reason;
    this.#emit({ type: "killed", pid: plugin.pid, reason });
    plugin.kill("SIGKILL");
  }

  /** A call `plugin` served was answered: it is not hung, and a restart recovered. */
  answered(plugin: Plugin): void {
    const state = this.#state;
    if (state.t !== "ready" || state.plugin !== plugin) return;
    state.missed = 0;
    this.limit.succeeded();
    if (state.fresh) {
      state.fresh = false;
      this.#options.budget.recovered();
    }
  }

  /** A call on `plugin` missed its deadline: past the limit in a row, it is killed as hung. */
  missedDeadline(plugin: Plugin): void {
    const state = this.#state;
    if (state.t !== "ready" || state.plugin !== plugin) return;
    if (++state.missed >= this.#options.maxMissedDeadlines) {
      this.kill(plugin, `missed ${state.missed} call deadlines in a row (hung)`);
    }
  }

  /**
   * Whether a failed call's process died: waits briefly for its exit.
   *
   * @returns The crash error, or `undefined` when the process lives on.
   */
  async crashOf(plugin: Plugin, cause: unknown): Promise<PluginCrashedError | undefined> {
    if (!await settledWithin(plugin.exited, 1500)) return undefined;
    const status = await plugin.exited;
    const info = plugin.info();
    const reason = this.#cutOff?.plugin === plugin
      ? this.#cutOff.reason
      : this.#lastExit?.plugin === plugin
      ? this.#lastExit.info.reason
      : info.exitReason ?? explainExit(status, info.stderrTail);
    return new PluginCrashedError(this.name, status, reason, info.stderrTail, { cause });
  }

  /** The one way into a state: clears what the old state held. */
  #enter(next: KeeperState): void {
    const old = this.#state;
    if (old.t === "ready") clearInterval(old.health);
    if (old.t === "restarting") clearTimeout(old.timer);
    if (old.t === "starting" && next.t !== "ready") old.launch.abort();
    this.#state = next;
    this.#options.onChange();
  }

  #launching(launch: AbortController): boolean {
    return this.#state.t === "starting" && this.#state.launch === launch;
  }

  async #launch(launch: AbortController, signal?: AbortSignal): Promise<void> {
    this.#enter({ t: "starting", launch });
    const { signal: _ignored, ...plugin } = this.#options.plugin;
    const started = await Plugin.start({
      ...plugin,
      name: this.name,
      signal: signal ? AbortSignal.any([signal, launch.signal]) : launch.signal,
    });
    if (!this.#launching(launch)) {
      await started.stop(); // stopped or failed meanwhile
      return;
    }
    const generation = ++this.#generation;
    this.#enter({
      t: "ready",
      plugin: started,
      generation,
      health: watchHealth(started, this.#options.healthIntervalMs, (r) => this.kill(started, r)),
      missed: 0,
      killReason: undefined,
      fresh: this.restarts > 0,
    });
    this.#emit({ type: "started", pid: started.pid, restarts: this.restarts });
    void started.exited.then((status) => this.#onExit(started, status));
  }

  #onExit(plugin: Plugin, status: ExitStatus): void {
    const state = this.#state;
    if (state.t !== "ready" || state.plugin !== plugin || plugin.state === "stopping") return;
    this.limit.crashed(this.sending);
    const info = plugin.info();
    const reason = state.killReason ?? info.exitReason ?? explainExit(status, info.stderrTail);
    this.#lastExit = {
      plugin,
      info: { status, reason, stderrTail: info.stderrTail, at: new Date() },
    };
    this.#emit({ type: "crashed", pid: plugin.pid, status, reason, stderrTail: info.stderrTail });
    this.#crashed(reason);
  }

  /** After a crash or a failed restart: restart after a delay, or spend the budget. */
  #crashed(reason: string): void {
    const decision = this.#options.budget.crashed();
    if (decision.action === "fail") {
      this.#options.onBudgetSpent(
        `${decision.crashes} crashes within ${decision.windowMs / 1000} s; last: ${reason}`,
      );
      return;
    }
    const timer = setTimeout(async () => {
      const launch = new AbortController();
      try {
        this.restarts++;
        await this.#launch(launch);
      } catch (error) {
        if (!this.#launching(launch)) return; // stopped or failed meanwhile
        this.#emit({ type: "restart-failed", error: messageOf(error) });
        this.#crashed(messageOf(error));
      }
    }, decision.delayMs);
    this.#enter({ t: "restarting", timer, attempt: decision.attempt });
    this.#emit({ type: "restarting", attempt: decision.attempt, delayMs: decision.delayMs });
  }

  #emit(event: DistributiveOmit<SlotEvent, "plugin" | "slot">): void {
    this.#options.emit({ ...event, plugin: this.name, slot: this.slot } as SupervisorEvent);
  }
}

type SlotEvent = Extract<SupervisorEvent, { slot: number }>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
