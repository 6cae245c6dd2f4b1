/**
 * Keeps a plugin (or a pool of identical plugin processes) running: restarts
 * it with backoff when it crashes, kills and restarts it when it hangs, and
 * gives up — failing calls fast — when it crashes more than its budget.
 *
 * @module
 */
import type { DescService } from "../npm/protobuf.ts";
import {
  type Client,
  Code,
  ConnectError,
  type ContextKey,
  type ContextValues,
  createClient,
  createContextKey,
  type Transport,
} from "../npm/connect.ts";
import { AdaptiveLimit } from "./adaptive_limit.ts";
import { CallStats } from "./call_stats.ts";
import { type ExitStatus, PluginCrashedError, PluginError, PluginFailedError } from "./errors.ts";
import { explainExit } from "./limits.ts";
import { defaultPluginName, Plugin } from "./plugin.ts";
import { CrashBudget } from "./restart_policy.ts";
import type {
  PluginStats,
  SlotState,
  SupervisorEvent,
  SupervisorOptions,
  SupervisorState,
} from "./supervisor_options.ts";

export type { PluginStats, SlotState, SupervisorEvent, SupervisorOptions, SupervisorState };

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

interface Slot {
  index: number;
  name: string;
  state: SlotState;
  plugin: Plugin | undefined;
  restarts: number;
  inFlight: number;
  /** Calls sent and not yet answered (an open stream's messages not counted). */
  sending: number;
  /** A resent call is out on this process, alone. */
  alone: boolean;
  missed: number;
  killReason: string | undefined;
  stats: CallStats;
  limit: AdaptiveLimit;
  lastExit: PluginStats["lastExit"];
  healthTimer: ReturnType<typeof setInterval> | undefined;
  restartTimer: ReturnType<typeof setTimeout> | undefined;
  fresh: boolean;
}

const CRASH_CODES = new Set([
  Code.Unavailable,
  Code.Canceled,
  Code.Internal,
  Code.Unknown,
  Code.Aborted,
]);

/**
 * Supervises a plugin: start with {@linkcode Supervisor.start}, call through
 * {@linkcode Supervisor.client}, watch {@linkcode Supervisor.stats}, release
 * with `await using` or {@linkcode Supervisor.stop}.
 *
 * A call in flight when its plugin dies fails with
 * {@linkcode PluginCrashedError}. Retry policy: a call marked
 * {@linkcode RETRYABLE} is sent once more (never twice) to the restarted
 * plugin, alone — nothing else is sent to that process until it is
 * answered, and fresh calls wait while resent ones do — so a call that
 * crashes the plugin again costs only itself. Each process also has a limit
 * of calls in flight (`src/host/adaptive_limit.ts`): unbounded until a crash,
 * then halved per crash, one call alone after the restart, one more per
 * success. Answers that reached the host before a crash are delivered, not
 * failed. Every call has a deadline, waiting for a restart or for room
 * included. Past the crash budget, calls fail fast with
 * {@linkcode PluginFailedError} until {@linkcode Supervisor.reset}. The
 * plugin's own errors pass through as `ConnectError`.
 *
 * @example
 * ```ts ignore
 * await using kv = await Supervisor.start({ module: "./kv_plugin.ts", size: 2 });
 * const client = kv.client(KvService);
 * await client.put({ key: "a", value: "1" });
 * console.log(kv.stats());
 * ```
 */
export class Supervisor implements AsyncDisposable {
  readonly #options: SupervisorOptions;
  readonly #budget: CrashBudget;
  readonly #slots: Slot[];
  // callers waiting for a slot; resent calls are woken first
  readonly #waiters = { resent: new Set<() => void>(), fresh: new Set<() => void>() };
  // calls between their crash and the end of their resend: fresh calls wait for them
  #resending = 0;
  #state: SupervisorState = "starting";
  #failure = "";
  #stopping: Promise<void> | undefined;
  /** The plugin's name. */
  readonly name: string;

  private constructor(name: string, options: SupervisorOptions) {
    this.name = name;
    this.#options = options;
    this.#budget = new CrashBudget(options.restart, options.now, options.random);
    const size = options.size ?? 1;
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`Cannot supervise plugin "${name}": size must be a positive integer`);
    }
    this.#slots = Array.from({ length: size }, (_, index) => ({
      index,
      name: size > 1 ? `${name}#${index}` : name,
      state: "starting",
      plugin: undefined,
      restarts: 0,
      inFlight: 0,
      sending: 0,
      alone: false,
      missed: 0,
      killReason: undefined,
      stats: new CallStats(),
      limit: new AdaptiveLimit(),
      lastExit: undefined,
      healthTimer: undefined,
      restartTimer: undefined,
      fresh: false,
    }));
  }

  /**
   * Starts every process of the pool and resolves when all are ready.
   *
   * @param options The plugin and how to supervise it.
   * @returns The running supervisor.
   * @throws {HandshakeError} When a plugin fails its first start (the others are stopped).
   * @throws {PluginExitedError} When a plugin exits during its first start.
   * @example
   * ```ts ignore
   * await using sup = await Supervisor.start({ module: "./plugin.ts", restart: { maxCrashes: 3 } });
   * ```
   */
  static async start(options: SupervisorOptions): Promise<Supervisor> {
    const name = options.name ?? defaultPluginName(options);
    const supervisor = new Supervisor(name, options);
    try {
      await Promise.all(supervisor.#slots.map((slot) => supervisor.#launch(slot)));
    } catch (error) {
      await supervisor.stop();
      throw error;
    }
    supervisor.#state = "running";
    return supervisor;
  }

  /** Where the supervisor is. */
  get state(): SupervisorState {
    return this.#state;
  }

  /**
   * A Connect transport that routes each call to a ready plugin, with a
   * default deadline, crash detection and one retry for retryable calls.
   */
  get transport(): Transport {
    return {
      unary: (method, signal, timeoutMs, header, input, contextValues) =>
        this.#call(
          signal,
          timeoutMs,
          contextValues,
          (transport, t) => transport.unary(method, signal, t, header, input, contextValues),
        ),
      stream: (method, signal, timeoutMs, header, input, contextValues) =>
        this.#call(
          signal,
          timeoutMs,
          undefined,
          (transport, t) => transport.stream(method, signal, t, header, input, contextValues),
          (response, slot, plugin) => ({
            ...response,
            message: this.#watchStream(response.message, slot, plugin),
          }),
        ),
    };
  }

  /**
   * A stream's messages, counted as in flight on its slot until it ends, and
   * failing with {@linkcode PluginCrashedError} when its plugin dies mid-stream.
   */
  async *#watchStream<T>(
    messages: AsyncIterable<T>,
    slot: Slot,
    plugin: Plugin,
  ): AsyncGenerator<T> {
    slot.inFlight++;
    try {
      yield* messages;
    } catch (error) {
      if (error instanceof ConnectError && CRASH_CODES.has(error.code)) {
        const crash = await this.#crashOf(slot, plugin, error);
        if (crash) throw crash;
      }
      throw error;
    } finally {
      slot.inFlight--;
    }
  }

  /**
   * A typed client whose calls the supervisor routes and guards.
   *
   * @param service The generated service descriptor.
   * @returns The client.
   * @example
   * ```ts ignore
   * const greeter = supervisor.client(GreeterService);
   * ```
   */
  client<T extends DescService>(service: T): Client<T> {
    return createClient(service, this.transport);
  }

  /** Statistics per process slot: state, pid, restarts, last exit, calls, errors, latency, RSS. */
  stats(): PluginStats[] {
    return this.#slots.map((slot) => {
      const stats: PluginStats = {
        name: slot.name,
        slot: slot.index,
        state: slot.state,
        restarts: slot.restarts,
        inFlight: slot.inFlight,
        ...slot.stats.snapshot(),
      };
      if (slot.plugin) {
        stats.pid = slot.plugin.pid;
        const rss = slot.plugin.info().rssBytes;
        if (rss !== undefined) stats.rssBytes = rss;
      }
      if (slot.lastExit) stats.lastExit = slot.lastExit;
      return stats;
    });
  }

  /**
   * Brings a `failed` supervisor back: forgets past crashes and starts the
   * plugins again. Does nothing unless failed.
   *
   * @throws {PluginError} When a plugin fails to start again.
   */
  async reset(): Promise<void> {
    if (this.#state !== "failed") return;
    this.#budget.reset();
    this.#state = "starting";
    this.#emit({ type: "reset", plugin: this.name });
    await Promise.all(this.#slots.map((slot) => this.#launch(slot)));
    this.#state = "running";
  }

  /**
   * Stops every plugin (gracefully, then by force) and cancels pending
   * restarts. Calls waiting for a plugin fail. Idempotent.
   */
  stop(): Promise<void> {
    return this.#stopping ??= (async () => {
      this.#state = "stopped";
      this.#notify();
      await Promise.all(this.#slots.map(async (slot) => {
        clearTimeout(slot.restartTimer);
        clearInterval(slot.healthTimer);
        slot.state = "stopped";
        await slot.plugin?.stop();
      }));
      this.#emit({ type: "stopped", plugin: this.name });
    })();
  }

  /** Stops the supervisor; see {@linkcode Supervisor.stop}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #launch(slot: Slot): Promise<void> {
    slot.state = "starting";
    // the caller's start signal governs the first start only, not restarts
    const { signal, ...options } = this.#options;
    const plugin = await Plugin.start({
      ...options,
      ...(signal && this.#state === "starting" ? { signal } : {}),
      name: slot.name,
    });
    if (this.#state === "stopped") {
      await plugin.stop();
      return;
    }
    slot.plugin = plugin;
    slot.state = "ready";
    slot.missed = 0;
    slot.killReason = undefined;
    this.#emit({
      type: "started",
      plugin: slot.name,
      slot: slot.index,
      pid: plugin.pid,
      restarts: slot.restarts,
    });
    this.#watchHealth(slot, plugin);
    void plugin.exited.then((status) => this.#onExit(slot, plugin, status));
    this.#notify();
  }

  #watchHealth(slot: Slot, plugin: Plugin): void {
    const interval = this.#options.healthIntervalMs ?? 5000;
    if (interval <= 0) return;
    let checking = false;
    slot.healthTimer = setInterval(async () => {
      if (checking || slot.plugin !== plugin) return;
      checking = true;
      try {
        const status = await plugin.health({ timeoutMs: Math.min(interval, 5000) });
        if (status !== "SERVING") this.#kill(slot, plugin, `reported health ${status}`);
      } catch (error) {
        if (slot.plugin === plugin && plugin.state === "ready") {
          this.#kill(slot, plugin, `failed its health check (${(error as Error).message})`);
        }
      } finally {
        checking = false;
      }
    }, interval);
  }

  #kill(slot: Slot, plugin: Plugin, reason: string): void {
    if (slot.plugin !== plugin || slot.killReason !== undefined) return;
    slot.killReason = reason;
    this.#emit({ type: "killed", plugin: slot.name, slot: slot.index, pid: plugin.pid, reason });
    plugin.kill("SIGKILL");
  }

  #onExit(slot: Slot, plugin: Plugin, status: ExitStatus): void {
    if (slot.plugin !== plugin) return;
    clearInterval(slot.healthTimer);
    slot.plugin = undefined;
    if (this.#state === "stopped" || plugin.state === "stopping") return;
    slot.limit.crashed(slot.sending);
    const info = plugin.info();
    const reason = slot.killReason ?? info.exitReason ?? explainExit(status, info.stderrTail);
    slot.lastExit = { status, reason, stderrTail: info.stderrTail, at: new Date() };
    this.#emit({
      type: "crashed",
      plugin: slot.name,
      slot: slot.index,
      pid: plugin.pid,
      status,
      reason,
      stderrTail: info.stderrTail,
    });
    this.#scheduleRestart(slot, reason);
  }

  #scheduleRestart(slot: Slot, reason: string): void {
    const decision = this.#budget.crashed();
    if (decision.action === "fail") {
      this.#fail(
        `${decision.crashes} crashes within ${decision.windowMs / 1000} s; last: ${reason}`,
      );
      return;
    }
    slot.state = "restarting";
    this.#emit({
      type: "restarting",
      plugin: slot.name,
      slot: slot.index,
      attempt: decision.attempt,
      delayMs: decision.delayMs,
    });
    slot.restartTimer = setTimeout(async () => {
      if (this.#state === "stopped" || this.#state === "failed") return;
      try {
        slot.restarts++;
        slot.fresh = true;
        await this.#launch(slot);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.#emit({ type: "restart-failed", plugin: slot.name, slot: slot.index, error: message });
        this.#scheduleRestart(slot, message);
      }
    }, decision.delayMs);
  }

  #fail(reason: string): void {
    this.#state = "failed";
    this.#failure = reason;
    for (const slot of this.#slots) {
      slot.state = "failed";
      clearTimeout(slot.restartTimer);
      clearInterval(slot.healthTimer);
      const plugin = slot.plugin;
      slot.plugin = undefined;
      void plugin?.stop();
    }
    this.#emit({ type: "failed", plugin: this.name, reason });
    this.#notify();
  }

  #emit(event: SupervisorEvent): void {
    try {
      this.#options.onEvent?.(event);
    } catch {
      // a listener's failure is not the supervisor's
    }
  }

  #notify(): void {
    for (const waiters of [this.#waiters.resent, this.#waiters.fresh]) {
      for (const wake of waiters) wake();
      waiters.clear();
    }
  }

  /**
   * Waits until `deadline` (epoch ms) or the caller's abort for a ready
   * process that may take the call: for a resent call, one with nothing
   * else sent to it (the call then goes alone); for a fresh call, one under
   * its limit of calls in flight, once no resent call is waiting.
   */
  async #acquire(
    deadline: number,
    signal: AbortSignal | undefined,
    resent: boolean,
  ): Promise<[Slot, Plugin]> {
    while (true) {
      signal?.throwIfAborted();
      if (this.#state === "failed") throw new PluginFailedError(this.name, this.#failure);
      if (this.#state === "stopped") {
        throw new PluginError(this.name, `Cannot call plugin "${this.name}": it was stopped`);
      }
      let best: Slot | undefined;
      for (const slot of this.#slots) {
        if (slot.state !== "ready" || !slot.plugin || slot.alone) continue;
        const room = resent
          ? slot.sending === 0
          : this.#resending === 0 && slot.limit.admits(slot.sending);
        if (room && (!best || slot.inFlight < best.inFlight)) best = slot;
      }
      if (best?.plugin) {
        // claimed now, so concurrent callers spread out
        best.inFlight++;
        best.sending++;
        best.alone = resent;
        return [best, best.plugin];
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new ConnectError(
          `no "${this.name}" plugin could take the call within its deadline (restarting, or at its limit of calls in flight after crashes)`,
          Code.DeadlineExceeded,
        );
      }
      const waiters = resent ? this.#waiters.resent : this.#waiters.fresh;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 2 ** 31 - 1));
        const onAbort = () => done();
        signal?.addEventListener("abort", onAbort, { once: true });
        waiters.add(done);
        function done() {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          waiters.delete(done);
          resolve();
        }
      });
    }
  }

  /**
   * Sends a call; a retryable call whose plugin crashed under it is sent
   * once more, alone, to the restarted plugin (see the class's policy).
   */
  async #call<R>(
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    contextValues: ContextValues | undefined,
    send: (transport: Transport, timeoutMs: number) => Promise<R>,
    watch: (result: R, slot: Slot, plugin: Plugin) => R = (result) => result,
  ): Promise<R> {
    const budgetMs = timeoutMs ?? this.#options.callTimeoutMs ?? 30_000;
    const deadline = Date.now() + budgetMs;
    try {
      return await this.#send(deadline, signal, false, send, watch);
    } catch (error) {
      if (!(error instanceof PluginCrashedError) || !contextValues?.get(RETRYABLE)) throw error;
    }
    this.#resending++;
    try {
      return await this.#send(deadline, signal, true, send, watch);
    } finally {
      this.#resending--;
      this.#wake();
    }
  }

  /** One attempt of a call; a crash of its plugin is a {@linkcode PluginCrashedError}. */
  async #send<R>(
    deadline: number,
    signal: AbortSignal | undefined,
    resent: boolean,
    send: (transport: Transport, timeoutMs: number) => Promise<R>,
    watch: (result: R, slot: Slot, plugin: Plugin) => R,
  ): Promise<R> {
    const [slot, plugin] = await this.#acquire(deadline, signal, resent);
    const started = performance.now();
    try {
      const result = await send(plugin.transport, Math.max(1, deadline - Date.now()));
      slot.stats.record(performance.now() - started, false);
      slot.missed = 0;
      if (slot.plugin === plugin) slot.limit.succeeded();
      if (slot.fresh) {
        slot.fresh = false;
        this.#budget.recovered();
      }
      return watch(result, slot, plugin);
    } catch (error) {
      slot.stats.record(performance.now() - started, true);
      if (signal?.aborted || !(error instanceof ConnectError)) throw error;
      if (error.code === Code.DeadlineExceeded) {
        const max = this.#options.maxMissedDeadlines ?? 3;
        if (++slot.missed >= max) {
          this.#kill(slot, plugin, `missed ${slot.missed} call deadlines in a row (hung)`);
        }
        throw error;
      }
      if (!CRASH_CODES.has(error.code)) throw error;
      throw await this.#crashOf(slot, plugin, error) ?? error;
    } finally {
      slot.inFlight--;
      slot.sending--;
      if (resent) slot.alone = false;
      this.#wake();
    }
  }

  /** Room was made: waiting callers look again. */
  #wake(): void {
    if (this.#waiters.resent.size + this.#waiters.fresh.size > 0) this.#notify();
  }

  /** Whether a failed call's plugin died: the crash error, or undefined if it lives. */
  async #crashOf(slot: Slot, plugin: Plugin, cause: ConnectError) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      plugin.exited,
      new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 1500)),
    ]);
    clearTimeout(timer);
    if (!status) return undefined;
    const info = plugin.info();
    const reason = slot.killReason ?? info.exitReason ?? explainExit(status, info.stderrTail);
    return new PluginCrashedError(slot.name, status, reason, info.stderrTail, { cause });
  }
}
