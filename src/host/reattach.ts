/**
 * Reattach (go-plugin's `ReattachConfig`): a host hands its reattachable
 * plugins to a successor. This is the start side ({@linkcode planReattach},
 * {@linkcode ReattachTicket}): the plugin gets a reattach window, its
 * guardian a token's hash. The attach side (`reattach_attach.ts`) checks a
 * config against what runs, takes the guardian's place and connects.
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
import {
  DEFAULT_REATTACH_WINDOW_MS,
  ENV_REATTACH_WINDOW_MS,
  MAX_REATTACH_WINDOW_MS,
} from "../protocol/reattach_window.ts";
import type { CertifiedKey } from "../protocol/auto_mtls.ts";
import type { WatchdogReattach } from "./_watchdog.ts";
import { processIdentity } from "./_proc_identity.ts";
import type { Handshake } from "./handshake.ts";
import type { PluginOptions, SandboxKind } from "./plugin_options.ts";
import {
  newReattachToken,
  REATTACH_CONFIG_VERSION,
  type ReattachConfig,
  tokenHash,
} from "./reattach_config.ts";

export { type ReattachConfig, ReattachError, type ReattachFailure } from "./reattach_config.ts";

/**
 * Options for `Plugin.attach`: those of `Plugin.start` that still mean
 * something for a plugin already running. `name` defaults to the config's;
 * `signal` ends the health check (default: 10 s).
 */
export type AttachOptions = Pick<
  PluginOptions,
  | "name"
  | "logger"
  | "transport"
  | "maxMessageBytes"
  | "codec"
  | "stopGraceMs"
  | "shutdown"
  | "ready"
  | "stderrTailLines"
  | "signal"
>;

/** What a reattachable plugin's start adds: its ticket, its guardian's settings, its options. */
export interface ReattachPlan<T> {
  /** What `reattachConfig()` is made from. */
  ticket: ReattachTicket;
  /** For `Watchdog.open`. */
  watchdog: WatchdogReattach;
  /** The plugin's options with the reattach window in its environment. */
  options: T;
}

/** What a running reattachable plugin keeps: its ticket and its guardian's pid. */
export interface ReattachHandle {
  /** What its config is made from. */
  ticket: ReattachTicket;
  /** The guardian this host started (or adopted with). */
  watchdogPid: number | undefined;
}

/** The options {@linkcode planReattach} reads. */
export type ReattachableOptions = Pick<PluginOptions, "reattachable" | "reattachWindowMs" | "env">;

/**
 * The reattach side of a start: `undefined` unless `options.reattachable`.
 *
 * @param name The plugin's name, for errors.
 * @param options Its options.
 * @returns The plan.
 * @throws {RangeError} When `reattachWindowMs` is not an integer in 1 ms … 1 h.
 */
export async function planReattach<T extends ReattachableOptions>(
  name: string,
  options: T,
): Promise<ReattachPlan<T> | undefined> {
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

/**
 * A plugin's reattach config, or why it has none.
 *
 * @param name The plugin's name.
 * @param spawned Its process, launch plan and reattach handle (none: not reattachable).
 * @param handshake Its handshake.
 * @returns The config.
 * @throws {TypeError} When the plugin is not reattachable.
 * @throws {Error} When it has exited, or `/proc` may not be read.
 */
export function reattachConfigOf(
  name: string,
  spawned: {
    process: { pid: number; socketDir: string; exitStatus: unknown };
    plan: { sandbox: SandboxKind };
    reattach?: ReattachHandle;
  },
  handshake: Handshake,
): ReattachConfig {
  const { process, plan, reattach } = spawned;
  if (reattach === undefined) {
    throw new TypeError(
      `Cannot make a reattach config for plugin "${name}": it was not started with reattachable: true`,
    );
  }
  if (process.exitStatus !== undefined) {
    throw new Error(`Cannot make a reattach config for plugin "${name}": it has exited`);
  }
  return reattach.ticket.config({
    name,
    pid: process.pid,
    socketDir: process.socketDir,
    handshake,
    sandbox: plan.sandbox,
    watchdogPid: reattach.watchdogPid,
  });
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
