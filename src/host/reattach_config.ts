/**
 * The reattach config: what a host hands a successor so it can adopt a
 * running plugin (go-plugin's `ReattachConfig`, which is address, pid and
 * protocol; ours adds what a successor needs to check it is talking to the
 * same plugin). A plain JSON value: write it with `JSON.stringify`, read it
 * back with `JSON.parse`, and give it to `Plugin.attach`.
 *
 * It is a secret: with its token and (AutoMTLS) client key, whoever holds it
 * can adopt, call and stop the plugin. Write it where only the host's user
 * can read it (mode 0600).
 *
 * @module
 */
import { PluginError } from "./errors.ts";
import type { SandboxKind } from "./plugin_options.ts";

/** The reattach config format version. */
export const REATTACH_CONFIG_VERSION = 1;

/** A reattachable plugin's hand-over, from `Plugin.reattachConfig()` to `Plugin.attach()`. */
export interface ReattachConfig {
  /** Always {@linkcode REATTACH_CONFIG_VERSION}. */
  version: 1;
  /** The plugin's name. */
  name: string;
  /** Always `grpc`. */
  protocol: "grpc";
  /** Always `unix`. */
  network: "unix";
  /** The plugin's socket, inside `socketDir`. */
  address: string;
  /** The launch mode: go-plugin's handshake or Redpanda Connect's (`none`). */
  handshake: "go-plugin" | "none";
  /** The application protocol version the plugin chose. */
  appVersion: number;
  /** The plugin's process id (its process group id). */
  pid: number;
  /** When it started (`/proc/<pid>/stat` field 22): a reused pid has another. */
  pidStartTime: string;
  /** Its private socket directory. */
  socketDir: string;
  /** The guardian of the directory that the successor replaces. */
  watchdog: { pid: number; startTime: string };
  /** 64 hex digits; its SHA-256 is on the guardian's command line. */
  token: string;
  /** How long the plugin waits for a successor after its host is gone. */
  reattachWindowMs: number;
  /** What confines the plugin. */
  sandbox: SandboxKind;
  /** The plugin's AutoMTLS certificate as its handshake announced it (pinned), or `""`. */
  serverCert: string;
  /** The host's AutoMTLS certificate and key the plugin accepts, when AutoMTLS is on. */
  clientCert?: { certificate: string; privateKey: string };
}

/** Why a reattach config was refused. */
export type ReattachFailure =
  /** Not a reattach config of this version, or a field out of bounds. */
  | "malformed"
  /** The plugin, its guardian or its directory is gone, or its pid belongs to another process now. */
  | "stale"
  /** The config and what runs disagree: not ours, not that plugin's, the wrong token. */
  | "mismatch"
  /** Everything checked out, but the plugin did not answer a health check (left as it was). */
  | "unreachable";

/**
 * A reattach config that `Plugin.attach` refused. Nothing was touched (no
 * process signalled, no guardian replaced), except for `stale` found after
 * the take-over: the plugin exited as the successor attached.
 */
export class ReattachError extends PluginError {
  /** Why. */
  readonly reason: ReattachFailure;
  /**
   * Makes the error.
   *
   * @param plugin The plugin's name (as the config says).
   * @param reason Why.
   * @param detail What was found.
   * @param options Standard error options (`cause`).
   * @example
   * ```ts
   * import { ReattachError } from "./reattach_config.ts";
   * const error = new ReattachError("kv", "stale", "process 123 is gone");
   * if (error.reason !== "stale") throw new Error();
   * ```
   */
  constructor(plugin: string, reason: ReattachFailure, detail: string, options?: ErrorOptions) {
    super(plugin, `Cannot reattach to plugin "${plugin}": ${detail}`, options);
    this.name = "ReattachError";
    this.reason = reason;
  }
}

const SANDBOXES: readonly string[] = ["deno", "bubblewrap", "none"];
const TIME = /^\d{1,20}$/;

/**
 * Checks that `value` has the shape of a {@linkcode ReattachConfig} (from
 * `JSON.parse`: untrusted) and returns a copy holding only its fields.
 *
 * @param value The parsed config.
 * @returns The config.
 * @throws {ReattachError} `malformed` when a field is missing, of the wrong type or out of bounds.
 * @example
 * ```ts
 * import { parseReattachConfig, ReattachError } from "./reattach_config.ts";
 * try {
 *   parseReattachConfig({ version: 2 });
 * } catch (error) {
 *   if (!(error instanceof ReattachError) || error.reason !== "malformed") throw error;
 * }
 * ```
 */
export function parseReattachConfig(value: unknown): ReattachConfig {
  const v = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  const field = (key: string): unknown => Object.hasOwn(v, key) ? v[key] : undefined;
  const rawName = field("name");
  const name = typeof rawName === "string" && rawName.length <= 200 ? rawName : "(unnamed)";
  const fail = (detail: string): never => {
    throw new ReattachError(name, "malformed", `the reattach config is malformed: ${detail}`);
  };
  const text = (key: string, max: number, pattern?: RegExp): string => {
    const s = field(key);
    if (typeof s !== "string" || s.length > max || (pattern && !pattern.test(s))) {
      return fail(`${key} is not a valid string`);
    }
    return s;
  };
  const int = (raw: unknown, key: string, min: number): number => {
    if (typeof raw !== "number" || !Number.isSafeInteger(raw) || raw < min) {
      return fail(`${key} is not an integer ≥ ${min}`);
    }
    return raw;
  };
  if (field("version") !== REATTACH_CONFIG_VERSION) {
    fail(`version is not ${REATTACH_CONFIG_VERSION}`);
  }
  if (typeof rawName !== "string" || rawName === "" || rawName.length > 200) fail("name");
  if (field("protocol") !== "grpc") fail("protocol is not grpc");
  if (field("network") !== "unix") fail("network is not unix");
  const handshake = field("handshake");
  if (handshake !== "go-plugin" && handshake !== "none") fail("handshake is not go-plugin or none");
  const sandbox = field("sandbox");
  if (typeof sandbox !== "string" || !SANDBOXES.includes(sandbox)) fail("sandbox");
  const socketDir = text("socketDir", 4096, /^\/[^\0]*[^/]$/);
  const address = text("address", 4096, /^\/[^\0]*$/);
  if (!address.startsWith(`${socketDir}/`) || address.slice(socketDir.length + 1).includes("/")) {
    fail("address is not a file directly inside socketDir");
  }
  const rawWatchdog = field("watchdog");
  const watchdog = (typeof rawWatchdog === "object" && rawWatchdog !== null ? rawWatchdog : {}) as {
    pid?: unknown;
    startTime?: unknown;
  };
  const watchdogStart = Object.hasOwn(watchdog, "startTime") ? watchdog.startTime : undefined;
  if (typeof watchdogStart !== "string" || !TIME.test(watchdogStart)) fail("watchdog.startTime");
  const rawClient = field("clientCert");
  let clientCert: ReattachConfig["clientCert"];
  if (rawClient !== undefined) {
    const c = (typeof rawClient === "object" && rawClient !== null ? rawClient : {}) as Record<
      string,
      unknown
    >;
    const certificate = Object.hasOwn(c, "certificate") ? c.certificate : undefined;
    const privateKey = Object.hasOwn(c, "privateKey") ? c.privateKey : undefined;
    if (
      typeof certificate !== "string" || typeof privateKey !== "string" ||
      certificate.length > 16384 || privateKey.length > 16384
    ) fail("clientCert");
    clientCert = { certificate: certificate as string, privateKey: privateKey as string };
  }
  return {
    version: REATTACH_CONFIG_VERSION,
    name: rawName as string,
    protocol: "grpc",
    network: "unix",
    address,
    handshake: handshake as "go-plugin" | "none",
    appVersion: int(field("appVersion"), "appVersion", 1),
    pid: int(field("pid"), "pid", 2),
    pidStartTime: text("pidStartTime", 20, TIME),
    socketDir,
    watchdog: {
      pid: int(Object.hasOwn(watchdog, "pid") ? watchdog.pid : undefined, "watchdog.pid", 2),
      startTime: watchdogStart as string,
    },
    token: text("token", 64, /^[0-9a-f]{64}$/),
    reattachWindowMs: int(field("reattachWindowMs"), "reattachWindowMs", 1),
    sandbox: sandbox as SandboxKind,
    serverCert: text("serverCert", 16384),
    ...(clientCert === undefined ? {} : { clientCert }),
  };
}

/**
 * A new random reattach token (32 bytes, hex).
 *
 * @returns The token.
 */
export function newReattachToken(): string {
  return hex(crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * The SHA-256 of a token, hex: what a guardian's command line shows.
 *
 * @param token The token.
 * @returns The hash.
 */
export async function tokenHash(token: string): Promise<string> {
  return hex(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token))),
  );
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
