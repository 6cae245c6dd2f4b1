/**
 * The errors a host's caller may want to catch. Misuse throws `TypeError` or
 * `RangeError`; a plugin's own RPC errors pass through as `ConnectError`.
 *
 * @module
 */
import { escapeControlChars } from "./logger.ts";

/** How a plugin process ended: an exit code, or the signal that killed it. */
export interface ExitStatus {
  /** The exit code; 128+n when killed by signal n. */
  code: number;
  /** The signal that killed the process, or `null`. */
  signal: Deno.Signal | null;
}

/**
 * Describes an exit status for people: `"exit code 3"`, `"signal SIGSEGV"`.
 *
 * @param status The status.
 * @returns A short description.
 * @example
 * ```ts
 * import { describeExit } from "./errors.ts";
 * if (describeExit({ code: 139, signal: "SIGSEGV" }) !== "signal SIGSEGV") throw new Error();
 * ```
 */
export function describeExit(status: ExitStatus): string {
  return status.signal ? `signal ${status.signal}` : `exit code ${status.code}`;
}

/** The message with the plugin's last stderr lines, their control characters escaped. */
function withTail(message: string, stderrTail: readonly string[]): string {
  if (stderrTail.length === 0) return message;
  return `${message}; last stderr lines:\n  ${stderrTail.map(escapeControlChars).join("\n  ")}`;
}

/** Base class of Bulkhead's plugin errors; carries the plugin's name. */
export class PluginError extends Error {
  /** The plugin's name. */
  readonly plugin: string;
  /**
   * Makes an error about a plugin.
   *
   * @param plugin The plugin's name.
   * @param message The message.
   * @param options Standard error options (`cause`).
   */
  constructor(plugin: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PluginError";
    this.plugin = plugin;
  }
}

/** Why a handshake failed. */
export type HandshakeFailure =
  | "malformed"
  | "core-version"
  | "app-version"
  | "network"
  | "address"
  | "protocol"
  | "timeout"
  | "aborted"
  | "socket"
  | "tls";

/**
 * The plugin did not complete the handshake: its line was malformed or
 * refused, it said nothing in time, its socket never answered, or (`tls`)
 * its AutoMTLS did not check out: TLS on one side only, a certificate that
 * is not base64, a failed TLS handshake, or a served certificate other than
 * the announced one (refused at once, not at the start's deadline); or the
 * start was aborted (`reason: "aborted"`, `cause` the signal's reason). The
 * host has stopped the plugin by the time this is thrown.
 */
export class HandshakeError extends PluginError {
  /** What went wrong. */
  readonly reason: HandshakeFailure;
  /** The line the plugin printed, when there was one. */
  readonly line: string | undefined;
  /** The last lines the plugin wrote to stderr. */
  readonly stderrTail: readonly string[];
  /**
   * Makes a handshake error; the message quotes the line and the stderr tail.
   *
   * @param plugin The plugin's name.
   * @param reason What went wrong.
   * @param detail A human explanation.
   * @param options The line, stderr tail and cause.
   */
  constructor(
    plugin: string,
    reason: HandshakeFailure,
    detail: string,
    options: { line?: string; stderrTail?: readonly string[]; cause?: unknown } = {},
  ) {
    const quoted = options.line === undefined
      ? ""
      : ` (line: ${escapeControlChars(JSON.stringify(options.line))})`;
    super(
      plugin,
      withTail(`Cannot start plugin "${plugin}": ${detail}${quoted}`, options.stderrTail ?? []),
      { cause: options.cause },
    );
    this.name = "HandshakeError";
    this.reason = reason;
    this.line = options.line;
    this.stderrTail = options.stderrTail ?? [];
  }
}

/** The plugin process exited (before its handshake, or while in use). */
export class PluginExitedError extends PluginError {
  /** How it exited. */
  readonly status: ExitStatus;
  /** The last lines it wrote to stderr. */
  readonly stderrTail: readonly string[];
  /**
   * Makes an exit error; the message says how it exited and its last stderr lines.
   *
   * @param plugin The plugin's name.
   * @param when What the host was doing, e.g. `"before its handshake"`.
   * @param status How it exited.
   * @param stderrTail Its last stderr lines.
   * @param note What the host makes of it, e.g. that it refused the magic cookie.
   */
  constructor(
    plugin: string,
    when: string,
    status: ExitStatus,
    stderrTail: readonly string[],
    note?: string,
  ) {
    super(
      plugin,
      withTail(
        `Plugin "${plugin}" exited ${when} with ${describeExit(status)}${note ? `: ${note}` : ""}`,
        stderrTail,
      ),
    );
    this.name = "PluginExitedError";
    this.status = status;
    this.stderrTail = stderrTail;
  }
}

/**
 * A call failed because its plugin crashed (or was killed as hung) while
 * serving it. The supervisor restarts the plugin; mark a call retryable to
 * have it sent once more to the restarted plugin instead.
 */
export class PluginCrashedError extends PluginError {
  /** How the plugin exited. */
  readonly status: ExitStatus;
  /** Why, in words (names a limit the plugin hit, when one did). */
  readonly reason: string;
  /** The plugin's last stderr lines. */
  readonly stderrTail: readonly string[];
  /**
   * Makes a crash error; the message names the plugin, the reason and the stderr tail.
   *
   * @param plugin The plugin's name.
   * @param status How it exited.
   * @param reason Why, in words.
   * @param stderrTail Its last stderr lines.
   * @param options The call's own error as `cause`.
   */
  constructor(
    plugin: string,
    status: ExitStatus,
    reason: string,
    stderrTail: readonly string[],
    options?: ErrorOptions,
  ) {
    super(
      plugin,
      withTail(`Plugin "${plugin}" crashed during the call: ${reason}`, stderrTail),
      options,
    );
    this.name = "PluginCrashedError";
    this.status = status;
    this.reason = reason;
    this.stderrTail = stderrTail;
  }
}

/**
 * The plugin crashed more often than its crash budget allows and is no
 * longer restarted; calls fail fast with this error until
 * `Supervisor.reset()`.
 */
export class PluginFailedError extends PluginError {
  /** The last crash's reason. */
  readonly reason: string;
  /**
   * Makes a failed-plugin error.
   *
   * @param plugin The plugin's name.
   * @param reason Why it failed (the budget, the last crash).
   */
  constructor(plugin: string, reason: string) {
    super(
      plugin,
      `Cannot call plugin "${plugin}": it has failed (${reason}); reset it to try again`,
    );
    this.name = "PluginFailedError";
    this.reason = reason;
  }
}

/**
 * The host itself (the Deno process calling `Plugin.start`) lacks a
 * permission it needs to run a plugin: raised before the plugin is spawned,
 * naming the flags to run the host with.
 */
export class HostPermissionError extends PluginError {
  /** The flags to add to the host's `deno run`, e.g. `--allow-net`. */
  readonly missing: readonly string[];
  /**
   * Makes the error; the message lists the flags and what each is for.
   *
   * @param plugin The plugin's name.
   * @param missing Each missing flag with what it is for.
   * @param options Standard error options (`cause`).
   */
  constructor(
    plugin: string,
    missing: readonly { flag: string; why: string }[],
    options?: ErrorOptions,
  ) {
    super(
      plugin,
      `Cannot start plugin "${plugin}": this host lacks permissions; run it with ${
        missing.map((m) => `${m.flag} (${m.why})`).join(", ")
      }`,
      options,
    );
    this.name = "HostPermissionError";
    this.missing = missing.map((m) => m.flag);
  }
}

/**
 * A Deno plugin's module graph loads a local file outside what the plugin
 * may load (its module root, Bulkhead's own sources, Deno's cache and its
 * `read` grants). Deno loads a module's graph without read permission
 * checks, so such an import (`import secret from "/etc/shadow" with { type:
 * "text" }`) would read the file past the sandbox; the host refuses to start
 * the plugin instead. Nothing was spawned.
 */
export class ModuleGraphError extends PluginError {
  /** The file the graph loads, as imported. */
  readonly file: string;
  /** Where that file really is (symlinks resolved). */
  readonly realPath: string;
  /** The module that imports it (a path, or the specifier when not local). */
  readonly importer: string;
  /** The plugin's module root, when it has one (a local module). */
  readonly moduleRoot: string | undefined;
  /** Every file outside, the first being {@linkcode ModuleGraphError.file}. */
  readonly files: readonly string[];
  /**
   * Makes the error; the message names the file, its importer and the two
   * options that would allow it.
   *
   * @param plugin The plugin's name.
   * @param facts The file, its real path, its importer, the module root, a
   *   wider root that would hold it, and every file outside.
   */
  constructor(
    plugin: string,
    facts: {
      file: string;
      realPath: string;
      importer: string;
      moduleRoot: string | undefined;
      widerRoot: string;
      files: readonly string[];
    },
  ) {
    const link = facts.realPath === facts.file ? "" : `, a link to ${facts.realPath}`;
    const root = facts.moduleRoot === undefined
      ? "outside its read grants"
      : `outside its module root ${facts.moduleRoot} and its read grants`;
    const more = facts.files.length > 1 ? ` (and ${facts.files.length - 1} more files)` : "";
    super(
      plugin,
      `Cannot start plugin "${plugin}": it imports ${facts.file}${link} (from ${facts.importer})${more}, ${root}, which Deno would load without a read check; widen \`moduleRoot\` to ${facts.widerRoot}, or grant \`permissions.read: [${
        JSON.stringify(facts.realPath)
      }]\``,
    );
    this.name = "ModuleGraphError";
    this.file = facts.file;
    this.realPath = facts.realPath;
    this.importer = facts.importer;
    this.moduleRoot = facts.moduleRoot;
    this.files = facts.files;
  }
}

/** Why an executable's sandbox cannot be made. */
export type SandboxFailure = "missing" | "namespaces";

/**
 * An executable plugin cannot start in its bubblewrap sandbox: `bwrap` is
 * not installed, or it cannot make namespaces on this machine (user
 * namespaces disabled). Nothing was started. Install bubblewrap
 * (`apt-get install bubblewrap`), or start the plugin with `sandbox: false`
 * (`--no-sandbox`) to run it with all of the host user's rights.
 */
export class SandboxUnavailableError extends PluginError {
  /** What is missing. */
  readonly reason: SandboxFailure;
  /**
   * Makes a sandbox error; the message says how to install bubblewrap or opt out.
   *
   * @param plugin The plugin's name.
   * @param reason What is missing.
   * @param detail What was found, in words.
   * @param options Standard error options (`cause`).
   */
  constructor(plugin: string, reason: SandboxFailure, detail: string, options?: ErrorOptions) {
    super(
      plugin,
      `Cannot start plugin "${plugin}" in its sandbox: ${detail}. Install bubblewrap (apt-get install bubblewrap), or run this plugin unsandboxed with sandbox: false (--no-sandbox), which gives it all of your user's rights`,
      options,
    );
    this.name = "SandboxUnavailableError";
    this.reason = reason;
  }
}
