/**
 * A plugin start's deadline: its own start timeout combined with the
 * caller's signal, the waits that end when either fires, and the one typed
 * error a fired start becomes. Internal to `src/host/`.
 *
 * @module
 */
import { ABORTED as SIGNAL_FIRED, orAborted, sleep } from "../_timing.ts";
import { HandshakeError, type HandshakeFailure } from "./errors.ts";

/** What {@linkcode StartDeadline.error} attaches to its error. */
export interface StartFailure {
  /** The reason when the deadline (not an abort) fired. @default {"timeout"} */
  reason?: HandshakeFailure;
  /** What the host last saw, quoted after the deadline. */
  detail?: string;
  /** The plugin's last stderr lines. */
  stderrTail: readonly string[];
  /** The cause when the deadline fired. @default {the signal's reason} */
  cause?: unknown;
}

/**
 * The deadline of one plugin start. Its {@linkcode StartDeadline.signal}
 * fires when the caller's signal does, or `timeoutMs` after
 * {@linkcode StartDeadline.begin} (the spawn: caching a module's graph comes
 * before and is bounded by the caller's signal only). Dispose it when the
 * start settles.
 */
export class StartDeadline implements Disposable {
  /** Fires when the caller aborts or the start times out. */
  readonly signal: AbortSignal;
  /** The start timeout, in milliseconds. */
  readonly timeoutMs: number;
  readonly #own = new AbortController();
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param timeoutMs The start timeout, counted from {@linkcode StartDeadline.begin}.
   * @param caller The caller's signal, if any.
   */
  constructor(timeoutMs: number, caller: AbortSignal | undefined) {
    this.timeoutMs = timeoutMs;
    this.signal = caller ? AbortSignal.any([caller, this.#own.signal]) : this.#own.signal;
  }

  /** Starts the clock (once). */
  begin(): void {
    this.#timer ??= setTimeout(() => {
      this.#own.abort(
        new DOMException(`the start took longer than ${this.timeoutMs} ms`, "TimeoutError"),
      );
    }, this.timeoutMs);
  }

  /**
   * Waits for `promise`, or rejects with {@linkcode ABORTED} when the signal
   * fires first; removes its listener either way.
   */
  async race<T>(promise: Promise<T>): Promise<T> {
    const result = await orAborted(promise, this.signal);
    if (result === SIGNAL_FIRED) throw ABORTED;
    return result;
  }

  /** Sleeps `ms` milliseconds, or less when the signal fires; never rejects. */
  async sleep(ms: number): Promise<void> {
    await sleep(ms, this.signal);
  }

  /**
   * The error for a start whose signal fired: `"aborted"` when the caller
   * aborted for a reason of its own, else (the start timeout, or the caller's
   * `AbortSignal.timeout`) `options.reason` or `"timeout"`.
   *
   * @param name The plugin's name.
   * @param what What did not happen in time, e.g. `"no handshake line"`.
   * @param options Stderr tail, reason and cause.
   * @returns The error.
   */
  error(name: string, what: string, options: StartFailure): HandshakeError {
    const fired: unknown = this.signal.reason;
    if (!(fired instanceof DOMException && fired.name === "TimeoutError")) {
      const why = fired instanceof Error ? fired.message : String(fired);
      return new HandshakeError(name, "aborted", `the start was aborted (${why})`, {
        stderrTail: options.stderrTail,
        cause: fired,
      });
    }
    const within = this.#own.signal.aborted
      ? `within ${this.timeoutMs} ms`
      : "before the caller's deadline";
    const detail = options.detail === undefined ? "" : ` (${options.detail})`;
    return new HandshakeError(name, options.reason ?? "timeout", `${what} ${within}${detail}`, {
      stderrTail: options.stderrTail,
      cause: "cause" in options ? options.cause : fired,
    });
  }

  /** Stops the clock. */
  [Symbol.dispose](): void {
    clearTimeout(this.#timer);
  }
}

/** What {@linkcode StartDeadline.race} rejects with when the signal fires first. */
export const ABORTED: unique symbol = Symbol("start aborted");
