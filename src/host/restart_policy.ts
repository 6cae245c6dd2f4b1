/**
 * When to restart a crashed plugin: exponential backoff with jitter, within
 * a crash budget. Pure and clock-injected, so tests need not sleep.
 *
 * @module
 */

/** How a supervisor restarts crashed plugins. */
export interface RestartPolicy {
  /**
   * Delay before the first restart, in milliseconds.
   * @default {100}
   */
  initialDelayMs?: number;
  /**
   * Largest delay between restarts, in milliseconds.
   * @default {10000}
   */
  maxDelayMs?: number;
  /**
   * Random spread of each delay, as a fraction (0.2 = ±20%).
   * @default {0.2}
   */
  jitter?: number;
  /**
   * Crashes allowed within {@linkcode RestartPolicy.windowMs} before the plugin is `failed`.
   * @default {5}
   */
  maxCrashes?: number;
  /**
   * The crash budget's window, in milliseconds.
   * @default {60000}
   */
  windowMs?: number;
}

/** What to do after a crash. */
export type RestartDecision =
  | { action: "restart"; delayMs: number; attempt: number }
  | { action: "fail"; crashes: number; windowMs: number };

/**
 * Counts crashes in a sliding window and says whether and when to restart.
 *
 * @example
 * ```ts
 * import { CrashBudget } from "./restart_policy.ts";
 * let now = 0;
 * const budget = new CrashBudget({ maxCrashes: 2, jitter: 0 }, () => now, () => 0.5);
 * if (budget.crashed().action !== "restart") throw new Error();
 * if (budget.crashed().action !== "restart") throw new Error();
 * if (budget.crashed().action !== "fail") throw new Error();
 * ```
 */
export class CrashBudget {
  readonly #policy: Required<RestartPolicy>;
  readonly #now: () => number;
  readonly #random: () => number;
  #crashes: number[] = [];
  #streak = 0;

  /**
   * @param policy The restart policy.
   * @param now The clock, in milliseconds.
   * @param random A source of numbers in [0, 1).
   */
  constructor(
    policy: RestartPolicy = {},
    now: () => number = Date.now,
    random: () => number = Math.random,
  ) {
    this.#policy = {
      initialDelayMs: policy.initialDelayMs ?? 100,
      maxDelayMs: policy.maxDelayMs ?? 10_000,
      jitter: policy.jitter ?? 0.2,
      maxCrashes: policy.maxCrashes ?? 5,
      windowMs: policy.windowMs ?? 60_000,
    };
    if (this.#policy.maxCrashes < 0 || this.#policy.initialDelayMs < 0) {
      throw new RangeError("Cannot use restart policy: counts and delays must not be negative");
    }
    this.#now = now;
    this.#random = random;
  }

  /** Records a crash and decides: restart after a delay, or give up. */
  crashed(): RestartDecision {
    const now = this.#now();
    this.#crashes = this.#crashes.filter((t) => now - t < this.#policy.windowMs);
    this.#crashes.push(now);
    if (this.#crashes.length > this.#policy.maxCrashes) {
      return { action: "fail", crashes: this.#crashes.length, windowMs: this.#policy.windowMs };
    }
    this.#streak++;
    const { initialDelayMs, maxDelayMs, jitter } = this.#policy;
    const base = Math.min(maxDelayMs, initialDelayMs * 2 ** (this.#streak - 1));
    const spread = base * jitter * (this.#random() * 2 - 1);
    return {
      action: "restart",
      delayMs: Math.max(0, Math.round(base + spread)),
      attempt: this.#streak,
    };
  }

  /** A plugin served well after a restart: the next crash starts from the initial delay. */
  recovered(): void {
    this.#streak = 0;
  }

  /** Forgets every crash (after an operator's reset). */
  reset(): void {
    this.#crashes = [];
    this.#streak = 0;
  }

  /** Crashes counted in the current window. */
  recentCrashes(): number {
    const now = this.#now();
    return this.#crashes.filter((t) => now - t < this.#policy.windowMs).length;
  }
}
