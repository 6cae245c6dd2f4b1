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
import { moduleSpecifier, planLaunch } from "./_launch_plan.ts";
import { checkModuleGraph } from "./module_root.ts";
import { checksumTarget, verifyChecksum } from "./checksum.ts";
import type { PluginBroker } from "./broker.ts";
import { type ExitStatus, HandshakeError, PluginExitedError } from "./errors.ts";
import type { Handshake } from "./handshake.ts";
import { stderrLogger, toLogRecord } from "./logger.ts";
import { sandboxEscapes } from "./permissions.ts";
import { PluginProcess } from "./plugin_process.ts";
import { checkHostPermissions, socketDirError } from "./host_permissions.ts";
import { denoExecutable } from "./deno_command.ts";
import { readRss } from "./call_stats.ts";
import { explainExit, type ResourceLimits } from "./limits.ts";
import type {
  HandshakeMode,
  HealthOptions,
  PluginCall,
  PluginInfo,
  PluginOptions,
  PluginState,
  StopOptions,
} from "./plugin_options.ts";

export type {
  HandshakeMode,
  HealthOptions,
  PluginCall,
  PluginInfo,
  PluginOptions,
  PluginState,
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
  readonly #process: PluginProcess;
  readonly #channel: GrpcChannel;
  readonly #graceMs: number;
  readonly #sandboxed: boolean;
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
    process: PluginProcess,
    channel: GrpcChannel,
    handshake: Handshake,
    facts: {
      graceMs: number;
      sandboxed: boolean;
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
    },
  ) {
    this.name = name;
    this.#process = process;
    this.#channel = channel;
    this.handshake = handshake;
    this.#graceMs = facts.graceMs;
    this.#sandboxed = facts.sandboxed;
    this.#permissionFlags = facts.flags;
    this.#escapes = facts.escapes;
    this.#limits = facts.limits;
    this.#moduleRoot = facts.moduleRoot;
    this.#readyInMs = facts.readyInMs;
    this.#shutdown = facts.shutdown;
    this.#stdioDone = facts.stdioDone;
    this.#brokerContext = facts.broker;
    this.exited = process.exited.then(async (status) => {
      this.#state = "exited";
      await this.#broker?.close();
      await this.#channel.close();
      await this.#process.cleanup();
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
   * @throws {HandshakeError} When the handshake line is malformed or refused, none comes in time, or the socket does not answer.
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
    options.signal?.throwIfAborted();
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
    const timeoutMs = options.startTimeoutMs ?? 10_000;
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
    const { dir, socketPath } = await PluginProcess.makeSocketDir(options.socketParent).catch(
      (error) => {
        throw socketDirError(name, options.socketParent, error);
      },
    );
    let command: string, args: string[], env: Record<string, string>, flags: string[];
    let moduleRoot: string | undefined;
    try {
      checkHostPermissions(name, {
        socketPath,
        socketParent: dirname(dir),
        run: [options.module !== undefined ? denoExecutable() : target],
      });
      ({ command, args, env, flags } = await planLaunch(options, {
        target,
        dir,
        socketPath,
        versions,
        cookie,
        bare,
        clientCert,
        brokerSockets,
      }));
      if (options.module !== undefined) moduleRoot = await checkModuleGraph(name, target, options);
      if (options.sha256 !== undefined) {
        await verifyChecksum(name, options.sha256, checksumTarget(options, target), options.signal);
      }
    } catch (error) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw error;
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
      }, dir);
    } catch (error) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw new PluginExitedError(name, "before it started", { code: 127, signal: null }, [
        `cannot run ${command}: ${error instanceof Error ? error.message : String(error)}`,
      ]);
    }

    const deadline = new AbortController();
    const deadlineTimer = setTimeout(
      () => deadline.abort(new DOMException("start timed out", "TimeoutError")),
      timeoutMs,
    );
    const signal = options.signal
      ? AbortSignal.any([options.signal, deadline.signal])
      : deadline.signal;
    let channel: GrpcChannel | undefined;
    let stdioDone: Promise<void> = Promise.resolve(); // no stdio stream with handshake "none"
    let connector: GrpcConnector;
    const dialOptions: DialOptions = {
      readMaxBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      writeMaxBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    };
    try {
      let handshake: Handshake;
      connector = await connectorFor(options.transport);
      if (bare) {
        // no handshake line: the first stdout line is a log line like the rest
        void process.firstLine().then((line) => {
          if (line !== undefined) logger(toLogRecord(name, line, "stdout"));
        });
        channel = await waitForAddress(
          name,
          process,
          connector,
          socketPath,
          dialOptions,
          options.ready ?? healthProbe,
          signal,
          timeoutMs,
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
        handshake = await waitForHandshake(name, process, signal, timeoutMs, {
          versions,
          socketDir: dir,
          allowTcp: options.allowTcp ?? false,
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
        await waitForHealth(name, process, channel, {
          signal,
          timeoutMs,
          serving: options.waitForServing ?? true,
        });
        stdioDone = drainStdio(name, channel, logger);
        await options.ready?.(channel.transport, signal);
      }
      return new Plugin(name, process, channel, handshake, {
        graceMs: options.stopGraceMs ?? 2000,
        sandboxed: options.module !== undefined,
        flags,
        escapes: options.module !== undefined ? sandboxEscapes(options.permissions ?? {}) : [],
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
      });
    } catch (error) {
      await channel?.close();
      process.kill("SIGKILL");
      await process.cleanup();
      if (options.signal?.aborted) throw options.signal.reason;
      throw error;
    } finally {
      clearTimeout(deadlineTimer);
    }
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
      sandboxed: this.#sandboxed,
      permissionFlags: [...this.#permissionFlags],
      sandboxEscapes: [...this.#escapes],
      ...(this.#moduleRoot === undefined ? {} : { moduleRoot: this.#moduleRoot }),
      limits: { ...this.#limits },
      readyInMs: Math.round(this.#readyInMs),
      stderrTail: this.#process.stderrTail(),
    };
    const rss = this.#process.exitStatus ? undefined : readRss(this.pid);
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
   * process group after the grace period, then SIGKILL after another. Closes
   * the host's connection before the plugin closes its server, reaps the
   * process and removes the socket directory. Safe to call many times and
   * after the plugin has died: every call returns the same exit status.
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
      const exited = this.#process.exited.then(() => true);
      const within = async (ms: number) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<false>((r) => timer = setTimeout(() => r(false), ms));
        try {
          return await Promise.race([exited, late]);
        } finally {
          clearTimeout(timer);
        }
      };
      try {
        if (this.#shutdown) {
          const late = new AbortController();
          const timer = setTimeout(() => late.abort(), graceMs);
          try {
            await this.#shutdown(this.#channel.transport, late.signal);
          } finally {
            clearTimeout(timer);
          }
        } else {
          await this.client(GRPCController).shutdown({}, { timeoutMs: graceMs });
        }
      } catch {
        // UNAVAILABLE is success for go-plugin (it drops the connection in the handler)
      }
      await this.#broker?.close();
      await this.#process.closeStdin();
      // Let the plugin's last output arrive before hanging up: its stdio stream
      // ends when it exits or drops the connection (a Bulkhead plugin leaves at
      // stdin EOF), bounded for plugins that do neither.
      await Promise.race([this.#stdioDone, within(Math.min(graceMs, 1000))]);
      await this.#channel.close();
      if (!await within(graceMs)) {
        this.#process.kill("SIGTERM");
        if (!await within(graceMs)) this.#process.kill("SIGKILL");
      }
    }
    return await this.exited;
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

const INTERPRETERS = /^(python[0-9.]*|node|deno|bun|ruby|perl|php|bash|sh|dash)$/;

function baseName(target: string): string {
  const parts = target.replace(/\/+$/, "").split("/");
  const file = (parts.pop() ?? target).replace(/\.(ts|js|mjs|mts|py)$/, "");
  const generic = ["plugin", "main", "mod", "index"].includes(file);
  const parent = parts.pop();
  // "./plugin.ts" is "plugin", not "."
  return (generic && parent && parent !== "." && parent !== ".." ? parent : file) || target;
}
