/**
 * Deadlines for waits on a plugin: a timer as an `AbortSignal` that can be
 * cleared (so no timer outlives the wait), and a wait that ends when its
 * signal aborts, whatever the awaited promise does. Internal to `src/host/`.
 *
 * @module
 */

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
 * Waits for `promise` to settle, or for `signal` to abort, whichever comes
 * first. Never rejects: a rejection of `promise` counts as settled.
 *
 * @param promise What to wait for.
 * @param signal When to stop waiting.
 */
export async function settledOrAborted(
  promise: Promise<unknown>,
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) return;
  let onAbort!: () => void;
  const aborted = new Promise<void>((resolve) => {
    onAbort = resolve;
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    await Promise.race([promise.then(() => {}, () => {}), aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
