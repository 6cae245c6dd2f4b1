/**
 * Reattach (go-plugin's `ReattachConfig`): a host hands its reattachable
 * plugins to a successor. The start side ({@linkcode planReattach},
 * {@linkcode ReattachTicket}) gives the plugin a reattach window and its
 * guardian a token's hash; the attach side ({@linkcode attachPlugin}) checks
 * a config against what runs, takes the guardian's place and connects.
 *
 * What the successor believes, and why: the socket directory is this user's
 * and mode 0700 (only this user could have made what is in it); the plugin's
 * pid has the start time the config names (not a reused pid), is this
 * user's, leads its process group, and its environment names the socket
 * (the plugin of that directory); the guardian's pid has its start time and
 * its command line shows that directory and the SHA-256 of the config's
 * token (only the host that started the plugin knew the token). Only then is
 * anything signalled: the successor starts its own guardian, kills the old
 * one's process group (it and its `sleep`), and checks the plugin still runs.
 *
 * @module
 */
import { createClient } from "../npm/connect.ts";
import {
  connectorFor,
  DEFAULT_MAX_MESSAGE_BYTES,
  type DialOptions,
  type GrpcChannel,
  type GrpcConnector,
} from "../transport/transport.ts";
import { Health } from "../gen/grpc/health/v1/health_pb.ts";
import {
  DEFAULT_REATTACH_WINDOW_MS,
  ENV_REATTACH_WINDOW_MS,
  MAX_REATTACH_WINDOW_MS,
} from "../protocol/reattach_window.ts";
import type { CertifiedKey } from "../protocol/auto_mtls.ts";
import { addressOf, isNotASocket, tlsFor } from "./_dial_target.ts";
import { drainStdio } from "./_readiness.ts";
import { Watchdog, WATCHDOG_NAME, type WatchdogReattach } from "./_watchdog.ts";
import { isSameProcess, ownUid, processIdentity, procStrings } from "./_proc_identity.ts";
import type { Handshake } from "./handshake.ts";
import { type Logger, stderrLogger } from "./logger.ts";
import type { PluginCall, PluginOptions, SandboxKind } from "./plugin_options.ts";
import { AttachedProcess } from "./reattach_process.ts";
import {
  newReattachToken,
  parseReattachConfig,
  REATTACH_CONFIG_VERSION,
  type ReattachConfig,
  ReattachError,
  tokenHash,
} from "./reattach_config.ts";

export { type ReattachConfig, ReattachError, type ReattachFailure } from "./reattach_config.ts";

/** Options for `Plugin.attach`. */
export interface AttachOptions {
  /** The plugin's name. @default {the config's} */
  name?: string;
  /** Receives the plugin's log lines. @default {stderrLogger} */
  logger?: Logger;
  /** As for `Plugin.start`. @default {"native"} */
  transport?: PluginOptions["transport"];
  /** As for `Plugin.start`. @default {DEFAULT_MAX_MESSAGE_BYTES} */
  maxMessageBytes?: number;
  /** As for `Plugin.start`. */
  codec?: PluginOptions["codec"];
  /** As for `Plugin.start`. @default {2000} */
  stopGraceMs?: number;
  /** As for `Plugin.start` (e.g. Redpanda Connect's `Close`). */
  shutdown?: PluginCall;
  /** As for `Plugin.start`: the readiness probe of a `handshake: "none"` plugin. */
  ready?: PluginCall;
  /** How many stderr lines to keep. @default {20} */
  stderrTailLines?: number;
  /** Ends the health check (a timeout: `AbortSignal.timeout`). @default {10 s} */
  signal?: AbortSignal;
}

/** What a reattachable plugin's start adds: its ticket, its guardian's settings, its options. */
export interface ReattachPlan {
  /** What `reattachConfig()` is made from. */
  ticket: ReattachTicket;
  /** For `Watchdog.open`. */
  watchdog: WatchdogReattach;
  /** The plugin's options with the reattach window in its environment. */
  options: PluginOptions;
}

/**
 * The reattach side of a start: `undefined` unless `options.reattachable`.
 *
 * @param name The plugin's name, for errors.
 * @param options Its options.
 * @returns The plan.
 * @throws {RangeError} When `reattachWindowMs` is not an integer in 1 ms … 1 h.
 */
export async function planReattach(
  name: string,
  options: PluginOptions,
): Promise<ReattachPlan | undefined> {
  if (!options.reattachable) return undefined;
  const windowMs = options.reattachWindowMs ?? DEFAULT_REATTACH_WINDOW_MS;
  if (!Number.isInteger(windowMs) || windowMs < 1 || windowMs > MAX_REATTACH_WINDOW_MS) {
    throw new RangeError(
      `Cannot start plugin "${name}": reattachWindowMs must be an integer from 1 to ${MAX_REATTACH_WINDOW_MS}`,
    );
  }
  const token = newReattachToken();
  const watchdog = { windowMs, tokenHash: await tokenHash(token) };
  return {
    ticket: new ReattachTicket(token, windowMs),
    watchdog,
    options: { ...options, env: { ...options.env, [ENV_REATTACH_WINDOW_MS]: String(windowMs) } },
  };
}

/** What a running plugin's reattach config is made from. */
export interface ReattachFacts {
  /** The plugin's name. */
  name: string;
  /** Its process id. */
  pid: number;
  /** Its socket directory. */
  socketDir: string;
  /** Its accepted handshake. */
  handshake: Handshake;
  /** What confines it. */
  sandbox: SandboxKind;
  /** Its guardian's process id. */
  watchdogPid: number | undefined;
}

/** A reattachable plugin's secret half: its token, window and AutoMTLS client key. */
export class ReattachTicket {
  readonly #token: string;
  /** The reattach window, in milliseconds. */
  readonly windowMs: number;
  #mode: "go-plugin" | "none" = "go-plugin";
  #clientCert: CertifiedKey | undefined;

  /**
   * @param token The token.
   * @param windowMs The window.
   */
  constructor(token: string, windowMs: number) {
    this.#token = token;
    this.windowMs = windowMs;
  }

  /**
   * Records what the start decided: the launch mode and the AutoMTLS client certificate.
   *
   * @param mode go-plugin's handshake or Redpanda Connect's.
   * @param clientCert The host's AutoMTLS certificate, if any.
   * @returns This ticket.
   */
  handOver(mode: "go-plugin" | "none", clientCert: CertifiedKey | undefined): this {
    this.#mode = mode;
    this.#clientCert = clientCert;
    return this;
  }

  /**
   * The config a successor attaches with.
   *
   * @param facts The running plugin.
   * @returns The config.
   * @throws {Error} When the plugin or its guardian cannot be found in `/proc`.
   */
  config(facts: ReattachFacts): ReattachConfig {
    const plugin = processIdentity(facts.pid);
    const guard = facts.watchdogPid === undefined ? undefined : processIdentity(facts.watchdogPid);
    if (plugin === undefined || guard === undefined) {
      throw new Error(
        `Cannot make a reattach config for plugin "${facts.name}": ${
          plugin === undefined ? `its process ${facts.pid}` : "its guardian (/bin/sh)"
        } cannot be found in /proc (gone, or /proc may not be read)`,
      );
    }
    return {
      version: REATTACH_CONFIG_VERSION,
      name: facts.name,
      protocol: "grpc",
      network: "unix",
      address: facts.handshake.address,
      handshake: this.#mode,
      appVersion: facts.handshake.appVersion,
      pid: facts.pid,
      pidStartTime: plugin.startTime,
      socketDir: facts.socketDir,
      watchdog: { pid: facts.watchdogPid!, startTime: guard.startTime },
      token: this.#token,
      reattachWindowMs: this.windowMs,
      sandbox: facts.sandbox,
      serverCert: facts.handshake.serverCert,
      ...(this.#clientCert === undefined ? {} : { clientCert: { ...this.#clientCert } }),
    };
  }
}

/** What `Plugin.attach` builds a `Plugin` from. */
export interface AttachedPlugin {
  /** The plugin's name. */
  name: string;
  /** The adopted process. */
  process: AttachedProcess;
  /** The connection to it. */
  channel: GrpcChannel;
  /** Its handshake, as the config tells it (`line` empty). */
  handshake: Handshake;
  /** For the next hand-over. */
  ticket: ReattachTicket;
  /** This host's guardian's pid. */
  watchdogPid: number | undefined;
  /** Ends when the plugin's go-plugin stdio stream does. */
  stdioDone: Promise<void>;
  /** For its broker. */
  connector: GrpcConnector;
  /** For its broker. */
  dialOptions: DialOptions;
  /** The config's fields, checked. */
  config: ReattachConfig;
}

/**
 * Checks a reattach config against what runs, takes over from the previous
 * host's guardian and connects (see the module doc for what is checked).
 *
 * @param value The config (as `JSON.parse` returned it: untrusted).
 * @param options How to attach.
 * @returns The adopted plugin's parts.
 * @throws {ReattachError} When the config is malformed, stale or does not match, or the plugin does not answer.
 */
export async function attachPlugin(
  value: unknown,
  options: AttachOptions,
): Promise<AttachedPlugin> {
  options.signal?.throwIfAborted();
  const config = parseReattachConfig(value);
  const name = options.name ?? config.name;
  const hash = await tokenHash(config.token);
  await verify(name, config, hash);
  // Take over: our guardian first (from now on it removes everything should
  // this host die), then the old one goes, its `sleep` with it.
  const reattach = { windowMs: config.reattachWindowMs, tokenHash: hash };
  const watchdog = Watchdog.adopt(config.socketDir, config.pid, reattach);
  if (isSameProcess(config.watchdog.pid, config.watchdog.startTime)) {
    try {
      Deno.kill(-config.watchdog.pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  const process = await AttachedProcess.adopt({
    name,
    pid: config.pid,
    startTime: config.pidStartTime,
    logger: options.logger ?? stderrLogger,
    tailLines: options.stderrTailLines ?? 20,
  }, watchdog);
  const handshake: Handshake = {
    coreVersion: 1,
    appVersion: config.appVersion,
    network: "unix",
    address: config.address,
    protocol: "grpc",
    serverCert: config.serverCert,
    mux: false,
    line: "",
  };
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const dialOptions: DialOptions = {
    readMaxBytes: maxBytes,
    writeMaxBytes: maxBytes,
    ...(options.codec === undefined ? {} : { codec: options.codec }),
  };
  let channel: GrpcChannel | undefined;
  try {
    if (!isSameProcess(config.pid, config.pidStartTime)) {
      throw new ReattachError(
        name,
        "stale",
        `process ${config.pid} exited as this host attached (its reattach window ended)`,
      );
    }
    const tls = tlsFor(name, handshake, config.clientCert, []);
    if (tls !== undefined) dialOptions.tls = tls;
    const connector = await connectorFor(options.transport);
    channel = connector.dial(addressOf("unix", config.address), dialOptions);
    const signal = options.signal ?? AbortSignal.timeout(10_000);
    if (config.handshake === "go-plugin") {
      await createClient(Health, channel.transport).check({ service: "plugin" }, { signal });
    } else {
      await options.ready?.(channel.transport, signal);
    }
    const stdioDone = config.handshake === "go-plugin"
      ? drainStdio(name, channel, options.logger ?? stderrLogger)
      : Promise.resolve();
    return {
      name,
      process,
      channel,
      handshake,
      ticket: new ReattachTicket(config.token, config.reattachWindowMs)
        .handOver(config.handshake, config.clientCert),
      watchdogPid: watchdog.pid,
      stdioDone,
      connector,
      dialOptions,
      config,
    };
  } catch (error) {
    // we took over: the plugin is ours to end, as a failed start's would be
    await channel?.close().catch(() => {});
    process.kill("SIGKILL");
    await process.cleanup(100);
    if (error instanceof ReattachError) throw error;
    throw new ReattachError(
      name,
      "unreachable",
      `the plugin did not answer on ${config.address}; the host killed it (${
        error instanceof Error ? error.message : String(error)
      })`,
      { cause: error },
    );
  }
}

/** Everything the module doc lists, before anything is signalled. */
async function verify(name: string, config: ReattachConfig, hash: string): Promise<void> {
  const uid = ownUid();
  const fail = (reason: "stale" | "mismatch", detail: string): never => {
    throw new ReattachError(name, reason, detail);
  };
  const dir = await Deno.lstat(config.socketDir).catch(() => undefined);
  if (dir === undefined) fail("stale", `its socket directory ${config.socketDir} is gone`);
  if (
    !dir!.isDirectory || dir!.isSymlink || (uid !== undefined && dir!.uid !== uid) ||
    ((dir!.mode ?? 0) & 0o777) !== 0o700
  ) {
    fail(
      "mismatch",
      `${config.socketDir} is not a socket directory of this user's (a 0700 directory)`,
    );
  }
  const plugin = processIdentity(config.pid);
  if (plugin === undefined || plugin.state === "Z" || plugin.startTime !== config.pidStartTime) {
    fail(
      "stale",
      `process ${config.pid} is gone${
        plugin === undefined ? "" : " (its pid belongs to another process now)"
      }`,
    );
  }
  if (uid !== undefined && plugin!.uid !== uid) {
    fail("mismatch", `process ${config.pid} is another user's`);
  }
  if (plugin!.pgid !== config.pid) {
    fail("mismatch", `process ${config.pid} does not lead its process group`);
  }
  const environ = procStrings(config.pid, "environ").map((e) => e.slice(e.indexOf("=") + 1));
  if (
    !environ.some((v) =>
      v === config.socketDir || v === config.address || v === `unix:${config.address}`
    )
  ) {
    fail(
      "mismatch",
      `process ${config.pid} is not the plugin of ${config.socketDir} (its environment does not name it)`,
    );
  }
  const guard = processIdentity(config.watchdog.pid);
  if (guard === undefined || guard.state === "Z" || guard.startTime !== config.watchdog.startTime) {
    fail(
      "stale",
      `the guardian of ${config.socketDir} (process ${config.watchdog.pid}) is gone: its reattach window has passed`,
    );
  }
  const argv = procStrings(config.watchdog.pid, "cmdline");
  if (
    argv[3] !== WATCHDOG_NAME || argv[4] !== config.socketDir || argv[5] !== hash ||
    guard!.pgid !== config.watchdog.pid || (uid !== undefined && guard!.uid !== uid)
  ) {
    fail(
      "mismatch",
      `process ${config.watchdog.pid} is not the guardian of ${config.socketDir} with this config's token`,
    );
  }
  if (await isNotASocket(config.address)) fail("mismatch", `${config.address} is not a socket`);
}
