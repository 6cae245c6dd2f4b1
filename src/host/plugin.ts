/**
 * A running plugin, as its host sees it: start it, call it, check it, stop it.
 *
 * @module
 */
import { dirname } from "node:path";
import type { DescService } from "../npm/protobuf.ts";
import { type Client, createClient, type Transport } from "../npm/connect.ts";
import {
  connectorFor,
  DEFAULT_MAX_MESSAGE_BYTES,
  type DialOptions,
  type GrpcChannel,
  type GrpcConnector,
} from "../transport/transport.ts";
import { BULKHEAD_COOKIE } from "../protocol/handshake.ts";
import { DEFAULT_MAX_BROKER_ANNOUNCEMENTS } from "../protocol/broker_announcements.ts";
import { GRPCController } from "../gen/plugin/grpc_controller_pb.ts";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.ts";
import { drainStdio, waitForHandshake, waitForHealth } from "./_readiness.ts";
import { healthProbe, waitForAddress } from "./_address_readiness.ts";
import { addressOf, isNotASocket, tlsFor } from "./_dial_target.ts";
import { type CertifiedKey, generateCertificate } from "../protocol/auto_mtls.ts";
import { Broker } from "./_broker.ts";
import { deadline, settledOrAborted } from "./_deadline.ts";
import { moduleSpecifier, planLaunch } from "./_launch_plan.ts";
import { checkModuleGraph } from "./module_root.ts";
import { INTERPRETERS } from "./_exec_sandbox.ts";
import { StartDeadline } from "./_start_deadline.ts";
import { Watchdog } from "./_watchdog.ts";
import { checksumTarget, verifyChecksum } from "./checksum.ts";
import type { PluginBroker } from "./broker.ts";
import { type ExitStatus, HandshakeError, PluginError, PluginExitedError } from "./errors.ts";
import type { Handshake } from "./handshake.ts";
import { logLine, stderrLogger } from "./logger.ts";
import { PluginProcess } from "./plugin_process.ts";
import {
  type AttachOptions,
  attachPlugin,
  planReattach,
  type ReattachConfig,
  type ReattachTicket,
} from "./reattach.ts";
import type { AttachedProcess } from "./reattach_process.ts";
import { checkHostPermissions, socketDirError } from "./host_permissions.ts";
import { denoExecutable } from "./deno_command.ts";
import { readRss, readTreeRss } from "./call_stats.ts";
import { explainExit, type ResourceLimits } from "./limits.ts";
import type {
  HandshakeMode,
  HealthOptions,
  PluginCall,
  PluginInfo,
  PluginOptions,
  PluginState,
  SandboxKind,
  StopOptions,
} from "./plugin_options.ts";

export type {
  HandshakeMode,
  HealthOptions,
  PluginCall,
  PluginInfo,
  PluginOptions,
  PluginState,
  SandboxKind,
  StopOptions,
};

export { REDPANDA_ADDRESS_ENV } from "./_launch_plan.ts";

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
  readonly #process: PluginProcess | AttachedProcess;
  readonly #reattach: { ticket: ReattachTicket; watchdogPid: number | undefined } | undefined;
  readonly #channel: GrpcChannel;
  readonly #graceMs: number;
  readonly #sandbox: SandboxKind;
  readonly #permissionFlags: string[];
  readonly #escapes: string[];
  readonly #limits: ResourceLimits;
  readonly #moduleRoot: string | undefined;
  readonly #readyInMs: number;
  readonly #shutdown: PluginCall | undefined;
  readonly #stdioDone: Promise<void>;
  readonly #brokerContext: {
    connector: GrpcConnector;
    dialOptions: DialOptions;
    allowTcp: boolean;
    socketSlots: number | undefined;
    maxAnnouncements: number;
  };
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
    name: string,
    process: PluginProcess | AttachedProcess,
    channel: GrpcChannel,
    handshake: Handshake,
    facts: {
      graceMs: number;
      sandbox: SandboxKind;
      flags: string[];
      escapes: string[];
      limits: ResourceLimits;
      moduleRoot: string | undefined;
      readyInMs: number;
      shutdown: PluginCall | undefined;
      stdioDone: Promise<void>;
      broker: {
        connector: GrpcConnector;
        dialOptions: DialOptions;
        allowTcp: boolean;
        socketSlots: number | undefined;
        maxAnnouncements: number;
      };
      reattach?: { ticket: ReattachTicket; watchdogPid: number | undefined };
    },
  ) {
    this.name = name;
    this.#process = process;
    this.#channel = channel;
    this.handshake = handshake;
    this.#graceMs = facts.graceMs;
    this.#sandbox = facts.sandbox;
    this.#permissionFlags = facts.flags;
    this.#escapes = facts.escapes;
    this.#limits = facts.limits;
    this.#moduleRoot = facts.moduleRoot;
    this.#readyInMs = facts.readyInMs;
    this.#shutdown = facts.shutdown;
    this.#stdioDone = facts.stdioDone;
    this.#brokerContext = facts.broker;
    this.#reattach = facts.reattach;
    this.exited = process.exited.then(async (status) => {
      this.#state = "exited";
      // each step is bounded (a closing connection gives a peer that stopped
      // reading a deadline) and none may make `exited` reject
      await this.#broker?.close().catch(() => {});
      await this.#channel.close().catch(() => {});
      await this.#process.cleanup().catch(() => {});
      return status;
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
    if ((options.module === undefined) === (options.command === undefined)) {
      throw new TypeError("Cannot start a plugin: give exactly one of `module` or `command`");
    }
    const target = options.module !== undefined
      ? moduleSpecifier(options.module, options.cwd)
      : options.command!;
    const name = options.name ?? defaultPluginName(options);
    const versions = options.protocolVersions ?? [1];
    if (versions.length === 0 || versions.some((v) => !Number.isInteger(v) || v < 1)) {
      throw new RangeError(
        `Cannot start plugin "${name}": protocol versions must be positive integers`,
      );
    }
    const cookie = options.cookie ?? BULKHEAD_COOKIE;
    using deadline = new StartDeadline(options.startTimeoutMs ?? 10_000, options.signal);
    if (deadline.signal.aborted) throw deadline.error(name, "not started", { stderrTail: [] });
    const logger = options.logger ?? stderrLogger;
    const bare = options.handshake === "none";
    if (!bare && options.handshake !== undefined && options.handshake !== "go-plugin") {
      throw new RangeError(
        `Cannot start plugin "${name}": unknown handshake mode "${options.handshake}"`,
      );
    }
    const clientCert: CertifiedKey | undefined = options.autoMtls && !bare
      ? await generateCertificate()
      : undefined;
    const brokerSockets = options.brokerSockets ?? 0;
    if (!Number.isInteger(brokerSockets) || brokerSockets < 0) {
      throw new RangeError(
        `Cannot start plugin "${name}": brokerSockets must be a non-negative integer`,
      );
    }
    const maxAnnouncements = options.maxBrokerAnnouncements ?? DEFAULT_MAX_BROKER_ANNOUNCEMENTS;
    if (!Number.isInteger(maxAnnouncements) || maxAnnouncements < 1) {
      throw new RangeError(
        `Cannot start plugin "${name}": maxBrokerAnnouncements must be a positive integer`,
      );
    }
    const reattach = await planReattach(name, options);
    if (reattach) reattach.ticket.handOver(bare ? "none" : "go-plugin", clientCert);
    // the watchdog makes the directory: nothing is on disk before something
    // exists that removes it should this host die during the start
    const watchdog = await Watchdog.open(options.socketParent, reattach?.watchdog).catch(
      (error) => {
        throw socketDirError(name, options.socketParent, error);
      },
    );
    const { dir, socketPath } = watchdog;
    let command: string, args: string[], env: Record<string, string>, flags: string[];
    let moduleRoot: string | undefined;
    let sandbox: SandboxKind, escapes: string[];
    try {
      checkHostPermissions(name, {
        socketPath,
        socketParent: dirname(dir),
        // a sandboxed executable is started by /bin/sh and bwrap, which Deno does not check
        run: options.module !== undefined
          ? [denoExecutable()]
          : options.sandbox === false
          ? [target]
          : [],
      });
      ({ command, args, env, flags, sandbox, escapes } = await planLaunch(
        reattach?.options ?? options,
        {
          name,
          target,
          dir,
          socketPath,
          versions,
          cookie,
          bare,
          clientCert,
          brokerSockets,
        },
      ));
      if (options.module !== undefined) moduleRoot = await checkModuleGraph(name, target, options);
      if (options.sha256 !== undefined) {
        await verifyChecksum(name, options.sha256, checksumTarget(options, target), options.signal);
      }
    } catch (error) {
      await watchdog.close();
      if (!deadline.signal.aborted) throw error;
      throw deadline.error(name, "the plugin module was not cached", { stderrTail: [] });
    }
    let process: PluginProcess;
    const spawnedAt = performance.now();
    try {
      process = PluginProcess.spawn({
        name,
        command,
        args,
        env,
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
        logger,
        tailLines: options.stderrTailLines ?? 20,
      }, watchdog);
    } catch (error) {
      await watchdog.close();
      throw new PluginExitedError(name, "before it started", { code: 127, signal: null }, [
        `cannot run ${command}: ${error instanceof Error ? error.message : String(error)}`,
      ]);
    }

    deadline.begin();
    let channel: GrpcChannel | undefined;
    let stdioDone: Promise<void> = Promise.resolve(); // no stdio stream with handshake "none"
    let connector: GrpcConnector;
    const dialOptions: DialOptions = {
      readMaxBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      writeMaxBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      ...(options.codec === undefined ? {} : { codec: options.codec }),
    };
    try {
      let handshake: Handshake;
      connector = await connectorFor(options.transport);
      if (bare) {
        // no handshake line: the first stdout line is a log line like the rest
        void process.firstLine().then((line) => {
          if (line !== undefined) logLine(logger, name, line, "stdout");
        });
        channel = await waitForAddress(
          name,
          process,
          connector,
          socketPath,
          dialOptions,
          options.ready ?? healthProbe,
          deadline,
        );
        handshake = {
          coreVersion: 1,
          appVersion: 1,
          network: "unix",
          address: socketPath,
          protocol: "grpc",
          serverCert: "",
          mux: false,
          line: "",
        };
      } else {
        handshake = await waitForHandshake(name, process, deadline, {
          versions,
          socketDir: dir,
          allowTcp: options.allowTcp ?? false,
          cookieKey: cookie.key,
        });
        if (handshake.network === "unix" && await isNotASocket(handshake.address)) {
          throw new HandshakeError(
            name,
            "address",
            `${handshake.address} is not a socket (a symlink or a file): the host dials only the plugin's own socket`,
            { line: handshake.line, stderrTail: process.stderrTail() },
          );
        }
        const tls = tlsFor(name, handshake, clientCert, process.stderrTail());
        if (tls !== undefined) dialOptions.tls = tls;
        channel = connector.dial(addressOf(handshake.network, handshake.address), dialOptions);
        await waitForHealth(name, process, channel, deadline, {
          serving: options.waitForServing ?? true,
          line: handshake.line,
          logger,
        });
        stdioDone = drainStdio(name, channel, logger);
        await options.ready?.(channel.transport, deadline.signal);
      }
      return new Plugin(name, process, channel, handshake, {
        graceMs: options.stopGraceMs ?? 2000,
        sandbox,
        flags,
        escapes,
        limits: { ...options.limits },
        moduleRoot,
        readyInMs: performance.now() - spawnedAt,
        shutdown: options.shutdown,
        stdioDone,
        broker: {
          connector,
          dialOptions,
          allowTcp: options.allowTcp ?? false,
          socketSlots: options.module === undefined ? undefined : brokerSockets,
          maxAnnouncements,
        },
        ...(reattach ? { reattach: { ticket: reattach.ticket, watchdogPid: watchdog.pid } } : {}),
      });
    } catch (error) {
      await channel?.close();
      process.kill("SIGKILL");
      // its last output is in the error already: do not wait long for the
      // pipes, which a child that left the process group may hold
      await process.cleanup(100);
      // whatever the last wait threw, a fired deadline or abort is one typed error
      if (error instanceof PluginError || !deadline.signal.aborted) throw error;
      throw deadline.error(name, "the plugin was not ready", { stderrTail: process.stderrTail() });
    }
  }

  /**
   * Adopts a running reattachable plugin that another host started, from the
   * config that host's {@linkcode Plugin.reattachConfig} made (go-plugin's
   * `ReattachConfig`). Checks the config against what runs before it
   * touches anything (see `reattach.ts`), takes the old host's place as the
   * plugin's guardian, reopens its stdio and checks its health. The plugin
   * is then this host's like any other: `stop()` ends it, and when this host
   * dies it waits its reattach window for the next successor. Its exit code
   * is unknown here (not its parent): `exited` resolves with code -1.
   *
   * @param config The config, as `JSON.parse` returned it (untrusted).
   * @param options How to attach.
   * @returns The adopted plugin.
   * @throws {ReattachError} `malformed`, `stale` (the plugin, its guardian or its directory is gone; its pid was reused), `mismatch` (not this user's, not that plugin's, the wrong token) or `unreachable` (no health answer: the host killed it).
   * @example
   * ```ts ignore
   * const config = JSON.parse(await Deno.readTextFile("plugins.json"));
   * await using plugin = await Plugin.attach(config);
   * ```
   */
  static async attach(config: unknown, options: AttachOptions = {}): Promise<Plugin> {
    const started = performance.now();
    const a = await attachPlugin(config, options);
    return new Plugin(a.name, a.process, a.channel, a.handshake, {
      graceMs: options.stopGraceMs ?? 2000,
      sandbox: a.config.sandbox,
      flags: [],
      escapes: [],
      limits: {},
      moduleRoot: undefined,
      readyInMs: performance.now() - started,
      shutdown: options.shutdown,
      stdioDone: a.stdioDone,
      broker: {
        connector: a.connector,
        dialOptions: a.dialOptions,
        allowTcp: false,
        socketSlots: undefined,
        maxAnnouncements: DEFAULT_MAX_BROKER_ANNOUNCEMENTS,
      },
      reattach: { ticket: a.ticket, watchdogPid: a.watchdogPid },
    });
  }

  /**
   * What a successor needs to adopt this plugin with {@linkcode Plugin.attach}:
   * a JSON value (write it with mode 0600: it holds the token and any
   * AutoMTLS key). The plugin must have been started with `reattachable:
   * true`. This host keeps the plugin until it exits; the successor has the
   * plugin's reattach window from then.
   *
   * @returns The config.
   * @throws {TypeError} When the plugin is not reattachable.
   * @throws {Error} When it has exited, or `/proc` may not be read.
   * @example
   * ```ts ignore
   * Deno.addSignalListener("SIGTERM", () => {
   *   Deno.writeTextFileSync("plugins.json", JSON.stringify(plugin.reattachConfig()), { mode: 0o600 });
   *   Deno.exit(0);
   * });
   * ```
   */
  reattachConfig(): ReattachConfig {
    if (this.#reattach === undefined) {
      throw new TypeError(
        `Cannot make a reattach config for plugin "${this.name}": it was not started with reattachable: true`,
      );
    }
    if (this.#process.exitStatus !== undefined) {
      throw new Error(`Cannot make a reattach config for plugin "${this.name}": it has exited`);
    }
    return this.#reattach.ticket.config({
      name: this.name,
      pid: this.pid,
      socketDir: this.#process.socketDir,
      handshake: this.handshake,
      sandbox: this.#sandbox,
      watchdogPid: this.#reattach.watchdogPid,
    });
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
    const info: PluginInfo = {
      name: this.name,
      pid: this.pid,
      state: this.#state,
      handshake: this.handshake,
      sandboxed: this.#sandbox !== "none",
      sandbox: this.#sandbox,
      permissionFlags: [...this.#permissionFlags],
      sandboxEscapes: [...this.#escapes],
      ...(this.#moduleRoot === undefined ? {} : { moduleRoot: this.#moduleRoot }),
      limits: { ...this.#limits },
      readyInMs: Math.round(this.#readyInMs),
      stderrTail: this.#process.stderrTail(),
    };
    const rss = this.#process.exitStatus
      ? undefined
      : this.#sandbox === "bubblewrap"
      ? readTreeRss(this.pid)
      : readRss(this.pid);
    if (rss !== undefined) info.rssBytes = rss;
    const exit = this.#process.exitStatus;
    if (exit) {
      info.exit = exit;
      const why = explainExit(exit, info.stderrTail, this.#limits);
      info.exitReason = this.#killedFor === undefined
        ? why
        : `killed by the host: ${this.#killedFor} (${why})`;
    }
    return info;
  }

  /**
   * The Connect transport to this plugin, for `createClient` or for
   * wrapping (a supervisor routes calls through it).
   */
  get transport(): Transport {
    return this.#channel.transport;
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
    return this.#broker ??= new Broker({
      name: this.name,
      transport: this.#channel.transport,
      socketDir: this.#process.socketDir,
      ...this.#brokerContext,
      onAbuse: (reason) => this.#killFor(reason),
    });
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
    return createClient(service, this.#channel.transport);
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
  async health(options: HealthOptions = {}): Promise<string> {
    const response = await this.client(Health).check(
      { service: options.service ?? "plugin" },
      {
        timeoutMs: options.timeoutMs ?? 5000,
        ...(options.signal ? { signal: options.signal } : {}),
      },
    );
    return HealthCheckResponse_ServingStatus[response.status] ?? String(response.status);
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
    return this.#stopping ??= this.#stop(options.graceMs ?? this.#graceMs);
  }

  async #stop(graceMs: number): Promise<ExitStatus> {
    if (this.#process.exitStatus === undefined) {
      this.#state = "stopping";
      // The graceful part gets one deadline, whatever the plugin's socket does
      // (a plugin that stops reading it leaves a write pending for ever).
      const graceful = deadline(graceMs);
      const asked = this.#askToExit(graceful.signal, graceMs);
      const exitedInTime = await this.#exitWithin(graceful.signal, asked);
      graceful.clear();
      if (!exitedInTime) {
        this.#process.kill("SIGTERM");
        const term = deadline(graceMs);
        if (!await this.#exitWithin(term.signal)) this.#process.kill("SIGKILL");
        term.clear();
      }
    }
    return await this.exited;
  }

  /**
   * Shutdown (or the `shutdown` option's call), then hangs up: closes the
   * broker, stdin and the channel. Never rejects; each step ends when
   * `signal` aborts.
   */
  async #askToExit(signal: AbortSignal, graceMs: number): Promise<void> {
    const until = (step: Promise<unknown>) => settledOrAborted(step, signal);
    await until((async () => {
      if (this.#shutdown) await this.#shutdown(this.#channel.transport, signal);
      else await this.client(GRPCController).shutdown({}, { signal, timeoutMs: graceMs });
      // UNAVAILABLE is success for go-plugin (it drops the connection in the handler)
    })());
    await until(Promise.resolve(this.#broker?.close()));
    await until(this.#process.closeStdin());
    // Let the plugin's last output arrive before hanging up: its stdio stream
    // ends when it exits or drops the connection (a Bulkhead plugin leaves at
    // stdin EOF), bounded for plugins that do neither.
    const stdioWait = deadline(Math.min(graceMs, 1000));
    await settledOrAborted(this.#stdioDone, AbortSignal.any([signal, stdioWait.signal]));
    stdioWait.clear();
    await until(this.#channel.close());
  }

  /** True once the process has exited (after `first`, if given); false when `signal` aborts first. */
  async #exitWithin(signal: AbortSignal, first?: Promise<void>): Promise<boolean> {
    if (first) await settledOrAborted(first, signal);
    await settledOrAborted(this.#process.exited, signal);
    return this.#process.exitStatus !== undefined;
  }

  /** Stops the plugin; see {@linkcode Plugin.stop}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * The name a plugin gets when its options name none: the module's or
 * command's file name (or its folder's, for `plugin.ts`, `main.ts`, …).
 *
 * @param options The plugin's options.
 * @returns The name.
 */
export function defaultPluginName(
  options: Pick<PluginOptions, "module" | "command" | "args">,
): string {
  if (options.module !== undefined) {
    return baseName(options.module instanceof URL ? options.module.href : options.module);
  }
  const command = options.command ?? "plugin";
  // an interpreter running a script is named after the script
  const script = options.args?.find((a) => !a.startsWith("-") && /[./]/.test(a));
  if (script && INTERPRETERS.test(baseName(command))) return baseName(script);
  return baseName(command);
}

function baseName(target: string): string {
  const parts = target.replace(/\/+$/, "").split("/");
  const file = (parts.pop() ?? target).replace(/\.(ts|js|mjs|mts|py)$/, "");
  const generic = ["plugin", "main", "mod", "index"].includes(file);
  const parent = parts.pop();
  // "./plugin.ts" is "plugin", not "."
  return (generic && parent && parent !== "." && parent !== ".." ? parent : file) || target;
}
