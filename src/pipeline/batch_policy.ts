/**
 * When a batch is complete: by message count, by payload bytes, or by the
 * time since its first message. The first limit reached closes the batch.
 *
 * @module
 */

/** When a batch is complete. */
export interface BatchPolicy {
  /**
   * Messages per batch.
   * @default {100}
   */
  count: number;
  /** Payload bytes per batch (a batch holds at least one message). @default {unlimited} */
  bytes?: number;
  /**
   * Longest wait for more messages after a batch's first, in milliseconds;
   * then the batch goes as it is.
   * @default {unlimited (the batch waits for count or bytes, or the end of input)}
   */
  periodMs?: number;
}

/**
 * Collects items into batches under a {@linkcode BatchPolicy}. The clock is
 * injected, so tests need not sleep.
 *
 * @example
 * ```ts
 * import { BatchBuilder } from "./batch_policy.ts";
 * let now = 0;
 * const builder = new BatchBuilder<string>({ count: 2, periodMs: 50 }, () => now);
 * builder.push("a", 1);
 * if (builder.full || builder.dueInMs() !== 50) throw new Error();
 * now = 50;
 * if (builder.dueInMs() !== 0) throw new Error();
 * builder.push("b", 1);
 * if (!builder.full || builder.take().length !== 2 || builder.size !== 0) throw new Error();
 * ```
 */
export class BatchBuilder<T> {
  readonly #policy: BatchPolicy;
  readonly #now: () => number;
  #items: T[] = [];
  #bytes = 0;
  #startedAt = 0;

  /**
   * @param policy When a batch is complete.
   * @param now The clock, in milliseconds.
   */
  constructor(policy: BatchPolicy, now: () => number = () => performance.now()) {
    if (!Number.isInteger(policy.count) || policy.count < 1) {
      throw new RangeError(`Cannot batch: count must be a positive integer, got ${policy.count}`);
    }
    this.#policy = policy;
    this.#now = now;
  }

  /** How many items the open batch holds. */
  get size(): number {
    return this.#items.length;
  }

  /** Whether the open batch reached its count or bytes. */
  get full(): boolean {
    return this.#items.length >= this.#policy.count ||
      (this.#policy.bytes !== undefined && this.#bytes >= this.#policy.bytes);
  }

  /**
   * Adds an item.
   *
   * @param item The item.
   * @param bytes Its payload size.
   */
  push(item: T, bytes: number): void {
    if (this.#items.length === 0) this.#startedAt = this.#now();
    this.#items.push(item);
    this.#bytes += bytes;
  }

  /**
   * Milliseconds until the open batch's period ends (0: due now); undefined
   * when it is empty or the policy has no period.
   */
  dueInMs(): number | undefined {
    if (this.#items.length === 0 || this.#policy.periodMs === undefined) return undefined;
    return Math.max(0, this.#startedAt + this.#policy.periodMs - this.#now());
  }

  /**
   * Closes the open batch.
   *
   * @returns Its items (possibly none).
   */
  take(): T[] {
    const items = this.#items;
    this.#items = [];
    this.#bytes = 0;
    return items;
  }
}
