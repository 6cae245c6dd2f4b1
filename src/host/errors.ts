/**
 * The errors a host's caller may want to catch. Misuse throws `TypeError` or
 * `RangeError`; a plugin's own RPC errors pass through as `ConnectError`.
 *
 * @module
 */
import { escapeControlChars } from "./logger.ts";

export { PluginError } from "./plugin_error.ts";
import { PluginError } from "./plugin_error.ts";
export {
  HostPermissionError,
  ModuleGraphError,
  type SandboxFailure,
  SandboxUnavailableError,
} from "./launch_errors.ts";

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
  | "tls"
  | "mux";

/**
 * The plugin did not complete the handshake: its line was malformed or
 * refused, it said nothing in time, its socket never answered, or (`tls`)
 * its AutoMTLS did not check out: TLS on one side only, a certificate that
 * is not base64, a failed TLS handshake, or a served certificate other than
 * the announced one (refused at once, not at the start's deadline); (`mux`)
 * the host asked for multiplexing and the plugin did not offer it; or the
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
