/**
 * How many calls one supervised plugin process may have in flight, adapted
 * to its crashes: additive increase, multiplicative decrease, as TCP's
 * congestion window.
 *
 * @module
 */

/**
 * A process's limit of calls in flight. Unbounded until its first crash.
 * After each crash the limit halves (of itself, or of the calls that were
 * in flight when it crashed, whichever is fewer; never below one) and the
 * restarted process is sent one call alone — as a pipeline resends a
 * crashed batch alone — until a call succeeds; every success then raises
 * the limit by one.
 *
 * So calls that crash a process together are not all resent to the next
 * one together, and a plugin that crashes under load gets only the load it
 * survives.
 *
 * @example
 * ```ts
 * import { AdaptiveLimit } from "./adaptive_limit.ts";
 * const limit = new AdaptiveLimit();
 * if (!limit.admits(100)) throw new Error("unbounded before any crash");
 * limit.crashed(16); // 16 calls were in flight: limit 8, but one call alone first
 * if (!limit.admits(0) || limit.admits(1)) throw new Error("alone");
 * limit.succeeded(); // limit 9
 * if (!limit.admits(8) || limit.admits(9)) throw new Error(String(limit.limit));
 * ```
 */
export class AdaptiveLimit {
  #limit = Infinity;
  #alone = false;

  /** The current limit (`Infinity` before the first crash; 1 while a call goes alone). */
  get limit(): number {
    return this.#alone ? 1 : this.#limit;
  }

  /**
   * Whether one more call may go to the process.
   *
   * @param inFlight The calls in flight on it now.
   * @returns Whether another fits under the limit.
   */
  admits(inFlight: number): boolean {
    return inFlight < this.limit;
  }

  /** A call succeeded: the limit grows by one (and calls no longer go alone). */
  succeeded(): void {
    this.#alone = false;
    if (Number.isFinite(this.#limit)) this.#limit++;
  }

  /**
   * The process crashed: the limit halves, and the next process gets one call alone.
   *
   * @param inFlight The calls that were in flight when it crashed.
   */
  crashed(inFlight: number): void {
    this.#limit = Math.max(1, Math.floor(Math.min(this.#limit, inFlight) / 2));
    this.#alone = true;
  }
}
