/**
 * Write coalescing for one socket: frames are appended to
 * {@linkcode SocketWriter.out} and leave in one `write` at the end of the
 * current microtask turn. While a write is in flight, and after it until the
 * event loop's next turn, new frames collect in a second buffer, so a busy
 * connection writes big batches: a write to a socket with room completes at
 * once, and the calls answered in the same turn (a pipeline's next batches,
 * a stream's next messages) would otherwise each make a write of their own.
 *
 * A peer that stops reading its socket leaves our write in flight, and what
 * it provokes meanwhile (RST_STREAM for its errors, PING and SETTINGS
 * acknowledgements, answers to its requests) collects in that second buffer.
 * DATA there is bounded by the windows the peer granted, every other frame
 * by nothing the peer must respect; so the buffer has two caps (see
 * {@linkcode OutputLimits}), and past either the writer reports an overflow
 * (the connection then sends GOAWAY ENHANCE_YOUR_CALM if the socket still
 * takes it, and closes).
 *
 * @module
 */
import { OutputBuffer } from "./frame.ts";

/** Buffered bytes above which streaming senders wait for the socket. */
export const HIGH_WATERMARK = 1 << 20;

/**
 * Caps on the frames waiting behind a write in flight (the socket has not
 * taken the previous batch yet). A peer that reads keeps this near zero:
 * the buffer is handed to the socket whenever a write completes.
 */
export interface OutputLimits {
  /**
   * Bytes of frames other than DATA (HEADERS, RST_STREAM, PING and SETTINGS
   * acknowledgements, WINDOW_UPDATE, …): not bounded by flow control, so a
   * peer that provokes them without reading could grow them forever.
   * @default {4194304}
   */
  maxPendingControlBytes?: number;
  /**
   * Bytes of all frames, DATA included (DATA is bounded by the peer's
   * windows, which a hostile peer may open up to 2 GiB). Legitimate bulk
   * sends stay far below: our own server grants a 16 MiB connection window.
   * (Native channels and servers use {@linkcode outputLimitsFor}: at least
   * 16 of their largest messages.)
   * @default {67108864}
   */
  maxPendingBytes?: number;
}

/**
 * The caps for a connection whose gRPC messages may be `maxMessageBytes`
 * long: the defaults, with room for 16 whole messages in all (so a peer
 * that grants large windows still takes big messages sent at once).
 *
 * @param maxMessageBytes The largest message either way.
 * @returns The caps.
 * @example
 * ```ts
 * import { outputLimitsFor } from "./writer.ts";
 * if (outputLimitsFor(64 << 20).maxPendingBytes !== 1 << 30) throw new Error();
 * ```
 */
export function outputLimitsFor(maxMessageBytes: number): OutputLimits {
  return { maxPendingBytes: Math.max(64 << 20, 16 * maxMessageBytes) };
}

/**
 * Bytes of frames past which the writer stops waiting for the event loop's
 * next turn and writes: a producer that keeps the turn busy (a stream
 * pumping messages) sends them on in chunks of this size, not all at once.
 */
export const TURN_FLUSH_BYTES = 64 << 10;

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
  #maxControl: number;
  #maxPending: number;
  #onOverflow: (pending: number, control: number) => void;
  #overflowed = false;
  #turnWait: (() => void) | undefined;
  /**
   * Bytes of DATA frames in {@linkcode SocketWriter.out} (the sender adds
   * them as it frames DATA; the rest of `out` is counted as control).
   */
  dataPending = 0;

  /**
   * @param conn The socket.
   * @param onError Called once when a write fails.
   * @param onOverflow Called once when the frames waiting behind a write in
   *   flight pass a cap (`pending` bytes in all, `control` of them not DATA).
   * @param limits The caps.
   */
  constructor(
    conn: Deno.Conn,
    onError: (error: unknown) => void,
    onOverflow: (pending: number, control: number) => void = () => {},
    limits: OutputLimits = {},
  ) {
    this.#conn = conn;
    this.#onError = onError;
    this.#onOverflow = onOverflow;
    this.#maxControl = limits.maxPendingControlBytes ?? 4 << 20;
    this.#maxPending = limits.maxPendingBytes ?? 64 << 20;
  }

  /** The caps in force, for messages. */
  get limits(): Required<OutputLimits> {
    return { maxPendingControlBytes: this.#maxControl, maxPendingBytes: this.#maxPending };
  }

  /** Drops the frames not yet handed to the socket (the connection is giving up on the peer). */
  discardPending(): void {
    this.out.reset();
    this.dataPending = 0;
  }

  /** Bytes appended and not yet written. */
  get buffered(): number {
    return this.out.length + this.#inFlight;
  }

  /** True while fewer than {@linkcode HIGH_WATERMARK} bytes are buffered, or the writer stopped. */
  get writable(): boolean {
    return this.buffered < HIGH_WATERMARK || this.#stopped;
  }

  /**
   * Arranges for the appended frames to be written at the end of this
   * microtask turn; while a write is in flight, checks the caps instead.
   */
  schedule(): void {
    if (this.#running !== undefined) {
      const pending = this.out.length;
      if (this.#turnWait !== undefined && pending >= TURN_FLUSH_BYTES) this.#endTurnWait();
      if (
        (pending > this.#maxPending || pending - this.dataPending > this.#maxControl) &&
        !this.#overflowed && !this.#stopped
      ) {
        this.#overflowed = true;
        this.#onOverflow(pending, pending - this.dataPending);
      }
      return;
    }
    if (this.#scheduled || this.#stopped) return;
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

  /**
   * Stops writing: frames appended later are dropped. Resolves when no
   * write is in flight: close the socket first when the peer may not be
   * reading, or this waits for it.
   */
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
      while (!this.#stopped) {
        if (this.out.length === 0) {
          // a write to a socket with room completes at once, while the code
          // that answered it is still producing frames in this turn: they
          // join the next write instead of each making its own
          await new Promise<void>((resolve) => {
            this.#turnWait = resolve;
            setImmediate(() => {
              if (this.#turnWait === resolve) this.#endTurnWait();
            });
          });
          if (this.out.length === 0 || this.#stopped) break;
        }
        const batch = this.out;
        this.out = this.#spare;
        this.#spare = batch;
        this.dataPending = 0;
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

  #endTurnWait = (): void => {
    const resolve = this.#turnWait;
    this.#turnWait = undefined;
    resolve?.();
  };

  #wakeDrainWaiters(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  }
}
