/**
 * When to restart a crashed plugin: exponential backoff with jitter, within
 * a crash budget. Pure and clock-injected, so tests need not sleep.
 *
 * @module
 */

/**
 * How a supervisor restarts crashed plugins. The defaults are a library
 * supervisor's ({@linkcode RESTART_DEFAULTS}); a pipeline's differ
 * ({@linkcode PIPELINE_RESTART_DEFAULTS}, which says why).
 */
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

/**
 * The defaults of a library {@linkcode Supervisor}'s policy: an application
 * is watching, and a plugin that crashes 5 times a minute is broken.
 *
 * @example
 * ```ts
 * import { RESTART_DEFAULTS } from "./restart_policy.ts";
 * if (RESTART_DEFAULTS.maxCrashes !== 5) throw new Error();
 * ```
 */
export const RESTART_DEFAULTS: Readonly<Required<RestartPolicy>> = {
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  jitter: 0.2,
  maxCrashes: 5,
  windowMs: 60_000,
};

/**
 * The defaults of a pipeline processor's (and plugin input's and output's)
 * policy, and why they differ from {@linkcode RESTART_DEFAULTS}: a pipeline
 * runs unattended and finds the message at fault by crashing its plugin on
 * purpose. One poison message in a batch of 100 costs about 10 crashes (the
 * batch's, one per bisection level, two alone for the message), so a budget
 * of 5 would stop the pipeline at the first poison message; and every
 * batch waits while a process restarts, so restarts come sooner.
 *
 * @example
 * ```ts
 * import { PIPELINE_RESTART_DEFAULTS } from "./restart_policy.ts";
 * if (PIPELINE_RESTART_DEFAULTS.maxCrashes !== 20) throw new Error();
 * ```
 */
export const PIPELINE_RESTART_DEFAULTS: Readonly<Required<RestartPolicy>> = {
  ...RESTART_DEFAULTS,
  initialDelayMs: 50,
  maxDelayMs: 5000,
  maxCrashes: 20,
};

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
      initialDelayMs: policy.initialDelayMs ?? RESTART_DEFAULTS.initialDelayMs,
      maxDelayMs: policy.maxDelayMs ?? RESTART_DEFAULTS.maxDelayMs,
      jitter: policy.jitter ?? RESTART_DEFAULTS.jitter,
      maxCrashes: policy.maxCrashes ?? RESTART_DEFAULTS.maxCrashes,
      windowMs: policy.windowMs ?? RESTART_DEFAULTS.windowMs,
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
}
