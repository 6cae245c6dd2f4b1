/**
 * Call deadlines on one shared timer. A timer per call (set when the call
 * starts, cleared when it ends, nearly always before it fires) costs
 * several microseconds and an object for the collector on every call, on
 * both sides; here deadlines fall into {@linkcode GRANULARITY_MS} buckets,
 * and one timer waits for the earliest bucket. A deadline fires at most
 * {@linkcode GRANULARITY_MS} late, never early. While no deadline is
 * pending no timer is set, so a finished program is not held alive.
 *
 * @module
 */

/** Width of a bucket, in milliseconds: how late a deadline may fire. */
export const GRANULARITY_MS = 4;

/** Something with a deadline. */
export interface DeadlineHandler {
  /** Called once the deadline passed (unless cancelled first). */
  onDeadline(): void;
}

/** Pending deadlines, bucketed, behind one timer. */
export class Deadlines {
  #buckets = new Map<number, Set<DeadlineHandler>>();
  /** Bucket times, a min-heap; a time stays until its turn, even once its bucket emptied. */
  #heap: number[] = [];
  #inHeap = new Set<number>();
  #pending = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedAt = Infinity;

  /** Deadlines pending. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Calls `handler.onDeadline()` once `ms` milliseconds have passed, unless
   * {@linkcode Deadlines.cancel} comes first.
   *
   * @returns The key to cancel it with.
   * @example
   * ```ts
   * import { Deadlines } from "./deadlines.ts";
   * const deadlines = new Deadlines();
   * const call = { onDeadline: () => console.log("timed out") };
   * const key = deadlines.add(call, 1000);
   * deadlines.cancel({ onDeadline() {} }, key); // not that one: nothing happens
   * if (deadlines.pending !== 1) throw new Error();
   * deadlines.cancel(call, key);
   * ```
   */
  add(handler: DeadlineHandler, ms: number): number {
    const at = Math.ceil((Date.now() + ms) / GRANULARITY_MS) * GRANULARITY_MS;
    let bucket = this.#buckets.get(at);
    if (bucket === undefined) {
      bucket = new Set();
      this.#buckets.set(at, bucket);
      if (!this.#inHeap.has(at)) {
        this.#inHeap.add(at);
        this.#push(at);
      }
    }
    if (!bucket.has(handler)) {
      bucket.add(handler);
      this.#pending++;
    }
    if (at < this.#armedAt) this.#arm(at);
    return at;
  }

  /** Forgets the deadline `add` returned `key` for (a no-op when it fired or was cancelled). */
  cancel(handler: DeadlineHandler, key: number): void {
    const bucket = this.#buckets.get(key);
    if (bucket === undefined || !bucket.delete(handler)) return;
    if (bucket.size === 0) this.#buckets.delete(key);
    if (--this.#pending === 0) {
      // nothing pending: no timer, and the heap's times all name empty buckets
      this.#disarm();
      this.#heap.length = 0;
      this.#inHeap.clear();
    }
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#armedAt = at;
    this.#timer = setTimeout(this.#fire, Math.max(0, at - Date.now()));
  }

  #disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Infinity;
  }

  #fire = (): void => {
    this.#timer = undefined;
    this.#armedAt = Infinity;
    const now = Date.now();
    const due: DeadlineHandler[] = [];
    while (this.#heap.length > 0 && this.#heap[0]! <= now) {
      const at = this.#pop();
      this.#inHeap.delete(at);
      const bucket = this.#buckets.get(at);
      if (bucket === undefined) continue;
      this.#buckets.delete(at);
      for (const handler of bucket) due.push(handler);
      this.#pending -= bucket.size;
    }
    // the next bucket that still holds a deadline (emptied ones are dropped on the way)
    while (this.#heap.length > 0 && !this.#buckets.has(this.#heap[0]!)) {
      this.#inHeap.delete(this.#pop());
    }
    if (this.#heap.length > 0) this.#arm(this.#heap[0]!);
    for (const handler of due) handler.onDeadline();
  };

  #push(at: number): void {
    const heap = this.#heap;
    let i = heap.length;
    heap.push(at);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]! <= at) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = at;
  }

  #pop(): number {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      const n = heap.length;
      while (true) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && heap[r]! < heap[l]! ? r : l;
        if (heap[c]! >= last) break;
        heap[i] = heap[c]!;
        i = c;
      }
      heap[i] = last;
    }
    return top;
  }
}

/** The deadlines of every call of this process (both sides). */
export const deadlines: Deadlines = new Deadlines();
