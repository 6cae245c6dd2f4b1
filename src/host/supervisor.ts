/**
 * Keeps a plugin (or a pool of identical plugin processes) running: restarts
 * it with backoff when it crashes, kills and restarts it when it hangs, and
 * gives up — failing calls fast — when it crashes more than its budget.
 * A facade over a {@linkcode PluginPool} (`pool.ts`, whose keepers keep one
 * process each: `keeper.ts`) and a guarded transport
 * (`guarded_transport.ts`: a call's deadline, crash and retry policy).
 *
 * @module
 */
import type { DescService } from "../npm/protobuf.ts";
import { type Client, createClient, type Transport } from "../npm/connect.ts";
import { guardedTransport, RETRYABLE } from "./guarded_transport.ts";
import { PluginPool } from "./pool.ts";
import { PoolUpgrader } from "./pool_upgrade.ts";
import type { UpgradeOptions, UpgradeResult } from "./upgrade_options.ts";
import type {
  PluginStats,
  SlotState,
  SupervisorEvent,
  SupervisorOptions,
  SupervisorState,
} from "./supervisor_options.ts";

export type { PluginStats, SlotState, SupervisorEvent, SupervisorOptions, SupervisorState };
export { RETRYABLE };

/**
 * Supervises a plugin: start with {@linkcode Supervisor.start}, call through
 * {@linkcode Supervisor.client}, watch {@linkcode Supervisor.stats}, release
 * with `await using` or {@linkcode Supervisor.stop}.
 *
 * A call in flight when its plugin dies fails with
 * {@linkcode PluginCrashedError}. Retry policy: a call marked
 * {@linkcode RETRYABLE} is sent once more (never twice) to the restarted
 * plugin, alone — nothing else is sent to that process until it is
 * answered, and fresh calls wait for it while resent ones do — so a call
 * that crashes the plugin again costs only itself. Each process also has a
 * limit of calls in flight (`src/host/adaptive_limit.ts`): unbounded until a
 * crash, then halved per crash, one call alone after the restart, one more
 * per success. Answers that reached the host before a crash are delivered,
 * not failed. Every call has a deadline, waiting for a restart or for room
 * included. Past the crash budget, calls fail fast with
 * {@linkcode PluginFailedError} until {@linkcode Supervisor.reset}. The
 * plugin's own errors pass through as `ConnectError`.
 *
 * @example
 * ```ts ignore
 * await using kv = await Supervisor.start({ plugin: { module: "./kv_plugin.ts" }, size: 2 });
 * const client = kv.client(KvService);
 * await client.put({ key: "a", value: "1" });
 * console.log(kv.stats());
 * ```
 */
export class Supervisor implements AsyncDisposable {
  #pool: PluginPool;
  readonly #transport: Transport;
  readonly #upgrader: PoolUpgrader;
  /** The plugin's name. */
  readonly name: string;

  private constructor(pool: PluginPool, options: SupervisorOptions) {
    this.#pool = pool;
    this.#upgrader = new PoolUpgrader(pool);
    this.name = pool.name;
    const source = { name: pool.name, lease: this.#lease };
    this.#transport = guardedTransport(
      source,
      options.callTimeoutMs === undefined ? {} : { callTimeoutMs: options.callTimeoutMs },
    );
  }

  readonly #lease: PluginPool["lease"] = (options) => this.#pool.lease(options);

  /**
   * Starts every process of the pool and resolves when all are ready.
   *
   * @param options The plugin (`plugin`) and how to supervise it.
   * @returns The running supervisor.
   * @throws {HandshakeError} When a plugin fails its first start (the others are stopped).
   * @throws {PluginExitedError} When a plugin exits during its first start.
   * @example
   * ```ts ignore
   * await using sup = await Supervisor.start({
   *   plugin: { module: "./plugin.ts" },
   *   restart: { maxCrashes: 3 },
   * });
   * ```
   */
  static async start(options: SupervisorOptions): Promise<Supervisor> {
    return new Supervisor(await PluginPool.start(options), options);
  }

  /** Where the supervisor is. */
  get state(): SupervisorState {
    return this.#pool.state;
  }

  /**
   * A Connect transport that routes each call to a ready plugin, with a
   * default deadline, crash detection and one retry for retryable calls.
   */
  get transport(): Transport {
    return this.#transport;
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
    return createClient(service, this.#transport);
  }

  /** Statistics per process slot: state, pid, restarts, last exit, calls, errors, latency, RSS. */
  stats(): PluginStats[] {
    return this.#pool.stats();
  }

  /**
   * Hot upgrade: swaps the plugin's processes for a new version without
   * losing a call (see `pool_upgrade.ts`). The new version's processes
   * start and pass their health check; new calls go to them; calls in
   * flight on the old ones finish there (up to `drainTimeoutMs`; past it a
   * `RETRYABLE` call is resent to the new version, any other fails with
   * {@linkcode PluginCrashedError}); the old ones stop once the new version
   * has served `probationMs` without a crash. One upgrade at a time.
   *
   * @param options The new version (`plugin`), drain timeout, probation, signal.
   * @returns Time to switch, time to drain, calls drained and cut, old and new pids.
   * @throws {UpgradeFailedError} When the new version failed to start or
   *   crashed within its probation, or `signal` aborted: rolled back, the
   *   old version serves every call.
   * @example
   * ```ts ignore
   * const { switchMs, drainMs } = await kv.upgrade({ plugin: { module: "./kv_v2.ts" } });
   * ```
   */
  upgrade(options: UpgradeOptions): Promise<UpgradeResult> {
    return this.#upgrader.upgrade(options);
  }

  /**
   * Brings a `failed` supervisor back: forgets past crashes and starts the
   * plugins again (not bound by the first start's `plugin.signal`). When a
   * plugin fails to start, the supervisor is `failed` again, with that
   * reason, and `reset()` may be tried again. Does nothing unless failed.
   *
   * @throws {PluginError} When a plugin fails to start again.
   */
  async reset(): Promise<void> {
    await this.#pool.reset();
  }

  /**
   * Stops every plugin (gracefully, then by force) and cancels pending
   * restarts. Calls waiting for a plugin fail. Idempotent.
   */
  stop(): Promise<void> {
    return this.#pool.stop();
  }

  /** Stops the supervisor; see {@linkcode Supervisor.stop}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
