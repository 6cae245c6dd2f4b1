/**
 * Bulkhead's one home for timers: deadlines as clearable signals, sleeps
 * that end early on abort, and waits bounded by a signal or a time. Every
 * timer race in `src/` goes through here, so no timer outlives its wait and
 * no abort listener is left behind. Private to `src/` (any folder under it).
 *
 * @module
 */

/** What {@linkcode orAborted} resolves with when the signal fires first. */
export const ABORTED: unique symbol = Symbol("aborted");

/** A signal that aborts after `ms`; `clear()` drops the timer once the wait is over. */
export interface Deadline {
  /** Aborts when the time is up. */
  readonly signal: AbortSignal;
  /** Cancels the timer. Idempotent. */
  clear(): void;
}

/**
 * Starts a deadline `ms` from now.
 *
 * @param ms Milliseconds until the signal aborts.
 * @returns The deadline.
 * @example
 * ```ts
 * import { deadline } from "./_timing.ts";
 * const grace = deadline(500);
 * grace.clear();
 * ```
 */
export function deadline(ms: number): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException(`deadline of ${ms} ms passed`, "TimeoutError")),
    ms,
  );
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

/**
 * Sleeps `ms` milliseconds, or less when `signal` aborts. Never rejects.
 *
 * @param ms How long.
 * @param signal Ends the sleep early.
 * @returns Whether the full time passed (`false` when aborted).
 * @example
 * ```ts
 * import { sleep } from "./_timing.ts";
 * console.log(await sleep(1)); // true
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(true), ms);
    const onAbort = () => done(false);
    signal?.addEventListener("abort", onAbort, { once: true });
    function done(full: boolean) {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(full);
    }
  });
}

/**
 * Waits for `promise`, or for `signal` to abort, whichever comes first; the
 * listener is removed either way. Rejects when `promise` rejects first.
 *
 * @param promise What to wait for.
 * @param signal When to stop waiting.
 * @returns The value, or {@linkcode ABORTED}.
 * @example
 * ```ts
 * import { ABORTED, orAborted } from "./_timing.ts";
 * const result = await orAborted(new Promise(() => {}), AbortSignal.abort());
 * console.log(result === ABORTED); // true
 * ```
 */
export async function orAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal,
): Promise<T | typeof ABORTED> {
  if (signal.aborted) return ABORTED;
  let onAbort!: () => void;
  const aborted = new Promise<typeof ABORTED>((resolve) => {
    onAbort = () => resolve(ABORTED);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * Waits for `promise` to settle, or for `signal` to abort, whichever comes
 * first. Never rejects: a rejection of `promise` counts as settled.
 *
 * @param promise What to wait for.
 * @param signal When to stop waiting.
 * @example
 * ```ts
 * import { settledOrAborted } from "./_timing.ts";
 * await settledOrAborted(Promise.reject(new Error("gone")), new AbortController().signal);
 * ```
 */
export async function settledOrAborted(
  promise: Promise<unknown>,
  signal: AbortSignal,
): Promise<void> {
  await orAborted(promise.then(() => {}, () => {}), signal);
}

/**
 * Waits for `promise` to settle, at most `ms` milliseconds (the timer is
 * cleared either way). Never rejects.
 *
 * @param promise What to wait for.
 * @param ms The longest wait.
 * @returns Whether it settled in time.
 * @example
 * ```ts
 * import { settledWithin } from "./_timing.ts";
 * console.log(await settledWithin(new Promise(() => {}), 1)); // false
 * ```
 */
export async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const limit = deadline(ms);
  try {
    await settledOrAborted(promise, limit.signal);
    return !limit.signal.aborted;
  } finally {
    limit.clear();
  }
}
