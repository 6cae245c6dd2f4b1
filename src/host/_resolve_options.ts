/**
 * {@linkcode PluginOptions} checked and defaulted once, before anything is
 * spawned: every later step of a start reads the resolved options and
 * applies no default of its own. Internal to `src/host/`.
 *
 * @module
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { maxMessageBytes } from "../transport/transport.ts";
import { BULKHEAD_COOKIE, type MagicCookie } from "../protocol/handshake.ts";
import { DEFAULT_MAX_BROKER_ANNOUNCEMENTS } from "../protocol/broker_announcements.ts";
import { type Logger, stderrLogger } from "./logger.ts";
import type { Permissions } from "./permissions.ts";
import type { ResourceLimits } from "./limits.ts";
import type { HandshakeMode, PluginOptions } from "./plugin_options.ts";
import { defaultPluginName } from "./plugin_name.ts";

/** The environment variable that carries the socket address with `handshake: "none"`. */
export const REDPANDA_ADDRESS_ENV = "REDPANDA_CONNECT_PLUGIN_ADDRESS";

/** The options whose defaults {@linkcode resolvePluginOptions} applies. */
type Defaulted =
  | "name"
  | "args"
  | "env"
  | "permissions"
  | "limits"
  | "cookie"
  | "protocolVersions"
  | "allowTcp"
  | "autoMtls"
  | "brokerSockets"
  | "maxBrokerAnnouncements"
  | "startTimeoutMs"
  | "waitForServing"
  | "stopGraceMs"
  | "maxMessageBytes"
  | "stderrTailLines"
  | "logger"
  | "handshake"
  | "addressEnv";

/** {@linkcode PluginOptions} with every default applied and every number checked. */
export interface ResolvedPluginOptions extends Omit<PluginOptions, Defaulted> {
  /** The plugin's name. */
  readonly name: string;
  /** The module's specifier (see {@linkcode moduleSpecifier}) or the command. */
  readonly target: string;
  /** Arguments for the plugin. */
  readonly args: readonly string[];
  /** Extra environment variables. */
  readonly env: Record<string, string>;
  /** What the plugin may touch. */
  readonly permissions: Permissions;
  /** Resource limits (a copy). */
  readonly limits: ResourceLimits;
  /** The magic cookie. */
  readonly cookie: MagicCookie;
  /** Application protocol versions offered (positive integers, at least one). */
  readonly protocolVersions: readonly number[];
  /** Accept a plugin announcing `tcp` on a loopback address. */
  readonly allowTcp: boolean;
  /** go-plugin's AutoMTLS (always `false` with `handshake: "none"`). */
  readonly autoMtls: boolean;
  /** Brokered socket paths granted to a Deno plugin (a non-negative integer). */
  readonly brokerSockets: number;
  /** Broker announcements that may wait at once (a positive integer). */
  readonly maxBrokerAnnouncements: number;
  /** Milliseconds to be ready. */
  readonly startTimeoutMs: number;
  /** Whether the start waits for SERVING. */
  readonly waitForServing: boolean;
  /** Milliseconds per stop step. */
  readonly stopGraceMs: number;
  /** Largest gRPC message either way, in bytes (a positive integer). */
  readonly maxMessageBytes: number;
  /** Stderr lines kept for errors. */
  readonly stderrTailLines: number;
  /** Receives the plugin's log lines. */
  readonly logger: Logger;
  /** How the plugin is launched and says it is ready. */
  readonly handshake: HandshakeMode;
  /** With `handshake: "none"`: the variable carrying the socket address. */
  readonly addressEnv: string;
}

/**
 * Checks a plugin's options and applies their defaults.
 *
 * @param options The options as given to `Plugin.start`.
 * @returns The resolved options.
 * @throws {TypeError} When neither or both of `module` and `command` are given.
 * @throws {RangeError} When a number or the handshake mode is out of range.
 */
export function resolvePluginOptions(options: PluginOptions): ResolvedPluginOptions {
  if ((options.module === undefined) === (options.command === undefined)) {
    throw new TypeError("Cannot start a plugin: give exactly one of `module` or `command`");
  }
  const name = options.name ?? defaultPluginName(options);
  const bad = (what: string) => new RangeError(`Cannot start plugin "${name}": ${what}`);
  const versions = options.protocolVersions ?? [1];
  if (versions.length === 0 || versions.some((v) => !Number.isInteger(v) || v < 1)) {
    throw bad("protocol versions must be positive integers");
  }
  const handshake = options.handshake ?? "go-plugin";
  if (handshake !== "go-plugin" && handshake !== "none") {
    throw bad(`unknown handshake mode "${handshake}"`);
  }
  const brokerSockets = options.brokerSockets ?? 0;
  if (!Number.isInteger(brokerSockets) || brokerSockets < 0) {
    throw bad("brokerSockets must be a non-negative integer");
  }
  const maxAnnouncements = options.maxBrokerAnnouncements ?? DEFAULT_MAX_BROKER_ANNOUNCEMENTS;
  if (!Number.isInteger(maxAnnouncements) || maxAnnouncements < 1) {
    throw bad("maxBrokerAnnouncements must be a positive integer");
  }
  const messageBytes = maxMessageBytes(options.maxMessageBytes);
  if (!Number.isInteger(messageBytes) || messageBytes < 1) {
    throw bad("maxMessageBytes must be a positive integer");
  }
  return {
    ...options,
    name,
    target: options.module !== undefined
      ? moduleSpecifier(options.module, options.cwd)
      : options.command!,
    args: options.args ?? [],
    env: options.env ?? {},
    permissions: options.permissions ?? {},
    limits: { ...options.limits },
    cookie: options.cookie ?? BULKHEAD_COOKIE,
    protocolVersions: versions,
    allowTcp: options.allowTcp ?? false,
    autoMtls: (options.autoMtls ?? false) && handshake === "go-plugin",
    brokerSockets,
    maxBrokerAnnouncements: maxAnnouncements,
    startTimeoutMs: options.startTimeoutMs ?? 10_000,
    waitForServing: options.waitForServing ?? true,
    stopGraceMs: options.stopGraceMs ?? 2000,
    maxMessageBytes: messageBytes,
    stderrTailLines: options.stderrTailLines ?? 20,
    logger: options.logger ?? stderrLogger,
    handshake,
    addressEnv: options.addressEnv ?? REDPANDA_ADDRESS_ENV,
  };
}

/**
 * A module option as the specifier Deno runs: URLs as they are, paths
 * resolved against `cwd` (default: the host's) as `file:` URLs.
 *
 * @param module The module option.
 * @param cwd The plugin's working directory.
 * @returns The specifier.
 */
export function moduleSpecifier(module: string | URL, cwd: string | undefined): string {
  if (module instanceof URL) return module.href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(module)) return module;
  return pathToFileURL(resolve(cwd ?? Deno.cwd(), module)).href;
}
