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

  /**
   * Takes the next message, waiting for one.
   *
   * @returns The message, or `undefined` after the end.
   * @throws The error given to `fail()`.
   */
  async next(): Promise<Uint8Array | undefined> {
    while (true) {
      if (this.#head < this.#items.length) {
        const message = this.#items[this.#head]!;
        this.#items[this.#head++] = EMPTY;
        if (this.#head > 64 && this.#head * 2 > this.#items.length) {
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
