/**
 * A queue of received messages between a stream's frame handler and the
 * code that reads them, with receive-side backpressure: while more than
 * {@linkcode HOLD_BYTES} wait unread, flow-control credit is held back, so
 * the peer stops sending until the reader catches up.
 *
 * @module
 */

/** Unread bytes above which credit is held back. */
export const HOLD_BYTES = 1 << 20;

/** Received messages waiting for a reader. */
export class MessageQueue {
  #items: Uint8Array[] = [];
  #head = 0;
  #bytes = 0;
  #held = 0;
  #ended = false;
  #error: unknown;
  #failed = false;
  #wake: (() => void) | undefined;
  #release: (bytes: number) => void;

  /** @param release Grants `bytes` of flow-control credit back to the peer. */
  constructor(release: (bytes: number) => void) {
    this.#release = release;
  }

  /** True once `end()` or `fail()` was called. */
  get closed(): boolean {
    return this.#ended || this.#failed;
  }

  /** Accounts for `bytes` received: credit is granted now, or held while the queue is full. */
  received(bytes: number): void {
    if (this.#bytes > HOLD_BYTES) this.#held += bytes;
    else this.#release(bytes);
  }

  /** Adds a complete message. */
  push(message: Uint8Array): void {
    if (this.closed) return;
    this.#items.push(message);
    this.#bytes += message.length;
    this.#notify();
  }

  /** Marks the end of messages; queued ones are still delivered. */
  end(): void {
    if (this.closed) return;
    this.#ended = true;
    this.#notify();
  }

  /** Fails the queue: queued messages are still delivered, then `next()` throws `error`. */
  fail(error: unknown): void {
    if (this.closed) return;
    this.#failed = true;
    this.#error = error;
    this.#notify();
  }

  /** Takes the next message if one is queued, without waiting. */
  shift(): Uint8Array | undefined {
    if (this.#head === this.#items.length) return undefined;
    const message = this.#items[this.#head]!;
    this.#items[this.#head++] = EMPTY;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head > 64 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    this.#bytes -= message.length;
    if (this.#held > 0 && this.#bytes <= HOLD_BYTES) {
      const held = this.#held;
      this.#held = 0;
      this.#release(held);
    }
    return message;
  }

  /**
   * Takes the next message, waiting for one. One caller at a time.
   *
   * @returns The message, or `undefined` after the end.
   * @throws The error given to `fail()`.
   */
  async next(): Promise<Uint8Array | undefined> {
    while (true) {
      const message = this.shift();
      if (message !== undefined) return message;
      if (this.#failed) throw this.#error;
      if (this.#ended) return undefined;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

const EMPTY = new Uint8Array(0);

/**
 * The messages of a {@linkcode MessageQueue}, decoded, as an async iterator
 * that answers from the queue without an async generator's machinery: a
 * queued message costs one settled promise. After the end or an error it
 * stays done; `return()` (a `break` out of `for await`) calls `onReturn`
 * unless the iteration already finished.
 */
export class MessageIterator<T> implements AsyncIterableIterator<T> {
  #queue: MessageQueue;
  #decode: (bytes: Uint8Array) => T;
  #onReturn: (() => void) | undefined;
  #finished = false;
  #waiting: Promise<IteratorResult<T>> | undefined;

  /**
   * @param queue Where messages come from.
   * @param decode Turns bytes into a message; what it throws ends the iteration with that error.
   * @param onReturn Called when the consumer stops early.
   */
  constructor(queue: MessageQueue, decode: (bytes: Uint8Array) => T, onReturn?: () => void) {
    this.#queue = queue;
    this.#decode = decode;
    this.#onReturn = onReturn;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#waiting !== undefined) {
      const after = this.#waiting.then(() => this.next(), () => this.next());
      return after;
    }
    if (this.#finished) return Promise.resolve({ done: true, value: undefined });
    const bytes = this.#queue.shift();
    if (bytes !== undefined) {
      try {
        return Promise.resolve({ done: false, value: this.#decode(bytes) });
      } catch (error) {
        this.#finished = true;
        return Promise.reject(error);
      }
    }
    const waiting = this.#queue.next().then((bytes) => {
      this.#waiting = undefined;
      if (bytes === undefined) {
        this.#finished = true;
        return { done: true, value: undefined } as const;
      }
      return { done: false, value: this.#decode(bytes) };
    }).catch((error) => {
      this.#waiting = undefined;
      this.#finished = true;
      throw error;
    });
    this.#waiting = waiting;
    return waiting;
  }

  return(): Promise<IteratorResult<T>> {
    if (!this.#finished) {
      this.#finished = true;
      this.#onReturn?.();
    }
    return Promise.resolve({ done: true, value: undefined });
  }
}
