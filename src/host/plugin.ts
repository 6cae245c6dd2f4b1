/**
 * A running plugin, as its host sees it: start it, call it, check it, stop it.
 *
 * @module
 */
import type { DescService } from "../npm/protobuf.ts";
import { type Client, createClient, type Transport } from "../npm/connect.ts";
import { type Broker, pluginBroker } from "./_broker.ts";
import { askHealth } from "./_address_readiness.ts";
import type { PluginProcess } from "./plugin_process.ts";
import type { AttachedProcess } from "./reattach_process.ts";
import { type AttachOptions, type ReattachConfig, reattachConfigOf } from "./reattach.ts";
import { type AdoptedPlugin, attachPlugin } from "./reattach_attach.ts";
import { type ResolvedPluginOptions, resolvePluginOptions } from "./_resolve_options.ts";
import { type SpawnedPlugin, spawnPlugin } from "./_plugin_spawn.ts";
import { awaitReady, type ReadyPlugin } from "./_plugin_ready.ts";
import { afterExit, stopGracefully } from "./_plugin_stop.ts";
import { pluginInfo } from "./_plugin_info.ts";
import { StartDeadline } from "./_start_deadline.ts";
import type { PluginBroker } from "./broker.ts";
import type { ExitStatus } from "./errors.ts";
import type { Handshake } from "./handshake.ts";
import type {
  HealthOptions,
  PluginInfo,
  PluginOptions,
  PluginState,
  StopOptions,
} from "./plugin_options.ts";

export { REDPANDA_ADDRESS_ENV } from "./_resolve_options.ts";

/**
 * A plugin process that has completed its handshake and answered a health
 * check. Start one with {@linkcode Plugin.start}; release it with
 * `await using` or {@linkcode Plugin.stop}.
 *
 * Lifecycle: `starting` → `ready` → `stopping` → `exited`, or `ready` →
 * `exited` when the plugin dies on its own. When it dies, calls in flight fail
 * with a `ConnectError` (`UNAVAILABLE` or `CANCELED`); the socket directory is
 * removed by the host in every case. {@linkcode Plugin.exited} resolves with
 * the exit status and never rejects.
 *
 * @example
 * ```ts ignore
 * import { Plugin } from "./plugin.ts";
 * import { GreeterService } from "../gen/bulkhead/examples/greeter/v1/greeter_pb.ts";
 * await using plugin = await Plugin.start({ module: "examples/greeter/plugin.ts" });
 * const greeter = plugin.client(GreeterService);
 * console.log((await greeter.greet({ name: "Ada" })).greeting);
 * ```
 */
export class Plugin implements AsyncDisposable {
  readonly #options: ResolvedPluginOptions;
  readonly #spawned: SpawnedPlugin | AdoptedPlugin;
  readonly #ready: ReadyPlugin;
  #broker: Broker | undefined;
  /** Why the host killed the plugin, when it did (it broke a bound). */
  #killedFor: string | undefined;
  #state: PluginState = "ready";
  #stopping: Promise<ExitStatus> | undefined;
  /** The plugin's name. */
  readonly name: string;
  /** The validated handshake (with `handshake: "none"`: the socket the host chose, `line` empty). */
  readonly handshake: Handshake;
  /** Resolves with the exit status once the process has exited and been cleaned up; never rejects. */
  readonly exited: Promise<ExitStatus>;

  private constructor(
    options: ResolvedPluginOptions,
    spawned: SpawnedPlugin | AdoptedPlugin,
    ready: ReadyPlugin,
  ) {
    this.#options = options;
    this.#spawned = spawned;
    this.#ready = ready;
    this.name = options.name;
    this.handshake = ready.handshake;
    this.exited = afterExit(spawned.process, ready.channel, () => {
      this.#state = "exited";
      return this.#broker?.close();
    });
  }

  /**
   * Starts a plugin and waits until it is ready: handshake validated,
   * health check answered (with `handshake: "none"`: the `ready` probe
   * answered on the socket the host chose).
   *
   * @param options What to run and how.
   * @returns The ready plugin.
   * @throws {HandshakeError} When the handshake line is malformed or refused, none comes in time, the socket does not answer, or its AutoMTLS does not check out (`tls`); `reason: "timeout"` when the start timeout (or the caller's `AbortSignal.timeout`) fires first, `"aborted"` when the caller's signal fires for another reason (its reason is the `cause`). A start never waits past its deadline, whatever the plugin's pipes do.
   * @throws {PluginExitedError} When the plugin exits before it is ready.
   * @throws {ModuleGraphError} When a Deno plugin's module graph loads a file outside its module root and read grants (nothing is spawned).
   * @throws {ChecksumMismatchError} When `sha256` is given and the plugin's hash differs (nothing is spawned).
   * @throws {TypeError} When neither or both of `module` and `command` are given.
   * @example
   * ```ts ignore
   * await using plugin = await Plugin.start({
   *   module: "./my_plugin.ts",
   *   permissions: { read: ["./data"] },
   *   signal: AbortSignal.timeout(5000),
   * });
   * ```
   */
  static async start(options: PluginOptions): Promise<Plugin> {
    const resolved = resolvePluginOptions(options);
    using deadline = new StartDeadline(resolved.startTimeoutMs, resolved.signal);
    if (deadline.signal.aborted) {
      throw deadline.error(resolved.name, "not started", { stderrTail: [] });
    }
    const spawned = await spawnPlugin(resolved, deadline);
    const ready = await awaitReady(resolved, spawned, deadline);
    return new Plugin(resolved, spawned, ready);
  }

  get #process(): PluginProcess | AttachedProcess {
    return this.#spawned.process;
  }

  /**
   * Adopts a running `reattachable` plugin another host started, from that
   * host's {@linkcode Plugin.reattachConfig} (go-plugin's `ReattachConfig`):
   * checks the config against what runs before touching anything, then
   * takes the old host's place (see `reattach_attach.ts`). The plugin is then
   * this host's like any other; its exit code is unknown here (`exited`
   * resolves with code -1).
   *
   * @param config The config, as `JSON.parse` returned it (untrusted).
   * @param options How to attach.
   * @returns The adopted plugin.
   * @throws {ReattachError} `malformed`, `stale`, `mismatch` or `unreachable` (see its `reason`).
   * @example
   * ```ts ignore
   * await using plugin = await Plugin.attach(JSON.parse(await Deno.readTextFile("plugins.json")));
   * ```
   */
  static async attach(config: unknown, options: AttachOptions = {}): Promise<Plugin> {
    const { options: resolved, spawned, ready } = await attachPlugin(config, options);
    return new Plugin(resolved, spawned, ready);
  }

  /**
   * What a successor needs to adopt this `reattachable` plugin with
   * {@linkcode Plugin.attach}: a JSON value holding a secret token (and any
   * AutoMTLS key), to write with mode 0600. The successor has the plugin's
   * reattach window from the moment this host exits.
   *
   * @returns The config.
   * @throws {TypeError} When the plugin is not reattachable.
   * @throws {Error} When it has exited, or `/proc` may not be read.
   * @example
   * ```ts ignore
   * Deno.writeTextFileSync("plugins.json", JSON.stringify(plugin.reattachConfig()), { mode: 0o600 });
   * ```
   */
  reattachConfig(): ReattachConfig {
    return reattachConfigOf(this.name, this.#spawned, this.handshake);
  }

  /** The process id (also its process group id). */
  get pid(): number {
    return this.#process.pid;
  }

  /** Where the plugin is in its life. */
  get state(): PluginState {
    return this.#state;
  }

  /** A snapshot for display. */
  info(): PluginInfo {
    const now = {
      name: this.name,
      state: this.#state,
      handshake: this.handshake,
      killedFor: this.#killedFor,
      limits: this.#options.limits,
    };
    return pluginInfo(now, this.#spawned, this.#ready);
  }

  /**
   * The Connect transport to this plugin, for `createClient` or for
   * wrapping (a supervisor routes calls through it).
   */
  get transport(): Transport {
    return this.#ready.channel.transport;
  }

  /**
   * Brokered connections with this plugin (go-plugin's `plugin.GRPCBroker`):
   * serve host services the plugin calls back, dial services the plugin
   * announces. The broker stream is opened on first use and closed when the
   * plugin stops or exits, with every brokered server and channel.
   *
   * @example
   * ```ts ignore
   * const id = plugin.broker.nextId();
   * await using _server = await plugin.broker.serve(id, [{ service: Counter, implementation }]);
   * await plugin.client(Callbacks).addViaBroker({ brokerId: id, delta: 1, times: 3 });
   * ```
   */
  get broker(): PluginBroker {
    return this.#broker ??= pluginBroker(
      this.name,
      this.#options,
      this.#process.socketDir,
      this.#ready,
      (reason) => this.#killFor(reason),
    );
  }

  /** Kills the plugin at once for breaking a bound; `reason` becomes its exit reason. */
  #killFor(reason: string): void {
    if (this.#process.exitStatus !== undefined) return;
    this.#killedFor ??= reason;
    this.#process.kill("SIGKILL");
  }

  /**
   * Kills the plugin's process group at once with `signal` (a hung plugin
   * cannot answer Shutdown). The host still reaps it and cleans up;
   * {@linkcode Plugin.exited} resolves as usual. Does nothing once it has exited.
   *
   * @param signal The signal.
   * @example
   * ```ts ignore
   * plugin.kill();
   * await plugin.exited;
   * ```
   */
  kill(signal: Deno.Signal = "SIGKILL"): void {
    this.#process.kill(signal);
  }

  /**
   * A typed Connect client for one of the plugin's services. Calls made after
   * the plugin exits fail with `UNAVAILABLE`.
   *
   * @param service The generated service descriptor.
   * @returns The client.
   * @example
   * ```ts ignore
   * const greeter = plugin.client(GreeterService);
   * ```
   */
  client<T extends DescService>(service: T): Client<T> {
    return createClient(service, this.#ready.channel.transport);
  }

  /**
   * Asks the plugin's `grpc.health.v1.Health/Check`.
   *
   * @param options Which service, a timeout, a signal.
   * @returns The serving status name, e.g. `"SERVING"`.
   * @throws {ConnectError} When the call fails.
   * @example
   * ```ts ignore
   * if (await plugin.health() !== "SERVING") console.warn("unhealthy");
   * ```
   */
  health(options: HealthOptions = {}): Promise<string> {
    return askHealth(this.#ready.channel.transport, options);
  }

  /**
   * Stops the plugin: `plugin.GRPCController/Shutdown` (or the `shutdown`
   * option's call, e.g. Redpanda Connect's `Close`), then SIGTERM to its
   * process group when it has not exited within the grace period, then
   * SIGKILL after another. Closes the host's connection before the plugin
   * closes its server, reaps the process and removes the socket directory.
   * Safe to call many times and after the plugin has died: every call
   * returns the same exit status; never rejects.
   *
   * Bounded whatever the plugin does: Shutdown and hanging up (broker,
   * stdin, connection — a plugin that stops reading its socket cannot hold
   * a write up) share the first grace period; so `stop()` returns within two
   * grace periods plus the time to reap a SIGKILLed process group and clean
   * up (each cleanup step has its own deadline of at most a second).
   *
   * @param options The grace period for this stop.
   * @returns How the process exited.
   * @example
   * ```ts ignore
   * const status = await plugin.stop({ graceMs: 500 });
   * ```
   */
  stop(options: StopOptions = {}): Promise<ExitStatus> {
    return this.#stopping ??= this.#stop(options.graceMs ?? this.#options.stopGraceMs);
  }

  async #stop(graceMs: number): Promise<ExitStatus> {
    if (this.#process.exitStatus === undefined) {
      this.#state = "stopping";
      await stopGracefully({
        process: this.#process,
        channel: this.#ready.channel,
        stdioDone: this.#ready.stdioDone,
        shutdown: this.#options.shutdown,
        closeBroker: () => this.#broker?.close(),
      }, graceMs);
    }
    return await this.exited;
  }

  /** Stops the plugin; see {@linkcode Plugin.stop}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
