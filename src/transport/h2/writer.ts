/**
 * Write coalescing for one socket: frames are appended to
 * {@linkcode SocketWriter.out} and leave in one `write` at the end of the
 * current microtask turn. While a write is in flight, new frames collect in
 * a second buffer, so a busy connection writes big batches.
 *
 * @module
 */
import { OutputBuffer } from "./frame.ts";

/** Buffered bytes above which streaming senders wait for the socket. */
export const HIGH_WATERMARK = 1 << 20;

/** Coalesces frames into few socket writes. */
export class SocketWriter {
  /** Where frames are appended; swapped while a write is in flight, so never cache it. */
  out: OutputBuffer = new OutputBuffer(65536);
  #spare: OutputBuffer = new OutputBuffer(65536);
  #conn: Deno.Conn;
  #onError: (error: unknown) => void;
  #scheduled = false;
  #running: Promise<void> | undefined;
  #inFlight = 0;
  #stopped = false;
  #drainWaiters: (() => void)[] = [];

  /**
   * @param conn The socket.
   * @param onError Called once when a write fails.
   */
  constructor(conn: Deno.Conn, onError: (error: unknown) => void) {
    this.#conn = conn;
    this.#onError = onError;
  }

  /** Bytes appended and not yet written. */
  get buffered(): number {
    return this.out.length + this.#inFlight;
  }

  /** True while fewer than {@linkcode HIGH_WATERMARK} bytes are buffered, or the writer stopped. */
  get writable(): boolean {
    return this.buffered < HIGH_WATERMARK || this.#stopped;
  }

  /** Arranges for the appended frames to be written at the end of this microtask turn. */
  schedule(): void {
    if (this.#scheduled || this.#running !== undefined || this.#stopped) return;
    this.#scheduled = true;
    queueMicrotask(this.#kick);
  }

  /** Resolves once fewer than {@linkcode HIGH_WATERMARK} bytes are buffered, or the writer stopped. */
  drained(): Promise<void> {
    if (this.writable) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Writes everything appended so far, then resolves (never rejects). */
  async flush(): Promise<void> {
    while (!this.#stopped && (this.out.length > 0 || this.#running !== undefined)) {
      this.#kick();
      await this.#running;
    }
  }

  /** Stops writing: frames appended later are dropped. Resolves when no write is in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wakeDrainWaiters();
    await this.#running;
  }

  #kick = (): void => {
    this.#scheduled = false;
    if (this.#running !== undefined || this.#stopped || this.out.length === 0) return;
    // #run awaits at least once (out is not empty), so it clears #running after this assignment.
    this.#running = this.#run();
  };

  async #run(): Promise<void> {
    try {
      while (this.out.length > 0 && !this.#stopped) {
        const batch = this.out;
        this.out = this.#spare;
        this.#spare = batch;
        let data = batch.bytes();
        this.#inFlight = data.length;
        while (data.length > 0) {
          const n = await this.#conn.write(data);
          data = data.subarray(n);
          this.#inFlight = data.length;
        }
        batch.reset();
        if (this.buffered < HIGH_WATERMARK) this.#wakeDrainWaiters();
      }
    } catch (error) {
      this.#stopped = true;
      this.#wakeDrainWaiters();
      this.#onError(error);
    }
    this.#inFlight = 0;
    this.#running = undefined;
  }

  #wakeDrainWaiters(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  }
}
