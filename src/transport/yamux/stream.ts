/**
 * One yamux stream: a socket-like duplex (`read`, `write`, `close`, as a
 * `Deno.Conn` offers them) over a {@linkcode YamuxSession}, with the
 * stream's flow control. What the peer may send is bounded by the receive
 * window (256 KiB): a peer that sends more breaks the protocol, and the
 * session ends.
 *
 * @module
 */
import { Flag, type FrameHeader, FrameType, INITIAL_WINDOW } from "./frame.ts";

/** Largest data frame this side sends, in bytes. */
const MAX_DATA_FRAME = 64 * 1024;

/** What a stream needs of its session. */
export interface StreamOwner {
  /** Queues a frame on the session's connection; resolves once written. */
  send(header: FrameHeader, payload?: Uint8Array): Promise<void>;
  /** The stream is done on this side: the session forgets its id. */
  forget(stream: YamuxStream): void;
}

/**
 * A yamux stream. `close()` half-closes it (FIN) and forgets it: pending
 * reads and writes fail, later frames for it are dropped. It never
 * rejects and is idempotent.
 *
 * @example
 * ```ts ignore
 * const stream = session.open();
 * await stream.write(new TextEncoder().encode("hello"));
 * const n = await stream.read(new Uint8Array(5));
 * stream.close();
 * ```
 */
export class YamuxStream {
  /** The stream id (odd: opened by the client side; even: by the server side). */
  readonly id: number;
  #owner: StreamOwner;
  #firstFlags: number; // SYN or ACK, carried by the first frame this side sends
  #chunks: Uint8Array[] = [];
  #recvWindow = INITIAL_WINDOW; // what the peer may still send
  #consumed = 0; // read since the last window update
  #sendWindow = INITIAL_WINDOW;
  #remoteFin = false;
  #reset: Error | undefined;
  #closed = false;
  #wakeRead: (() => void) | undefined;
  #wakeWrite = new Set<() => void>();

  /**
   * @param id The stream id.
   * @param owner The session.
   * @param firstFlags `Flag.Syn` for a stream this side opens (sent at
   *   once by the session), `Flag.Ack` for one the peer opened.
   */
  constructor(id: number, owner: StreamOwner, firstFlags: number) {
    this.id = id;
    this.#owner = owner;
    this.#firstFlags = firstFlags;
  }

  /** Sends the SYN or ACK window update now (a stream just opened or accepted). */
  announce(): void {
    this.#sendFlags(0);
  }

  /**
   * Takes a data frame's payload from the peer.
   *
   * @returns `false` when the peer sent more than its window allowed.
   */
  receive(payload: Uint8Array): boolean {
    if (payload.length > this.#recvWindow) return false;
    this.#recvWindow -= payload.length;
    if (this.#closed || payload.length === 0) return true;
    this.#chunks.push(payload);
    this.#notifyRead();
    return true;
  }

  /** The peer grew this side's send window. */
  grow(delta: number): void {
    // a window past 2^32 - 1 is a peer's mistake; it cannot make us buffer more
    this.#sendWindow = Math.min(this.#sendWindow + delta, 0xffffffff);
    for (const wake of this.#wakeWrite) wake();
  }

  /** The peer's FIN or RST. */
  onFlags(flags: number): void {
    if (flags & Flag.Rst) this.fail(new Deno.errors.ConnectionReset("the yamux stream was reset"));
    else if (flags & Flag.Fin) {
      this.#remoteFin = true;
      this.#notifyRead();
      if (this.#closed) this.#owner.forget(this);
    }
  }

  /** Ends the stream with `error` (a reset, or the session's end); it is forgotten. */
  fail(error: Error): void {
    this.#reset ??= error;
    this.#notifyRead();
    for (const wake of this.#wakeWrite) wake();
    this.#owner.forget(this);
  }

  /** Reads into `p`; resolves with the count, or `null` once the peer closed its side. */
  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#closed) throw new Deno.errors.BadResource("the yamux stream is closed");
      if (this.#reset) throw this.#reset;
      if (this.#remoteFin) return null;
      await new Promise<void>((resolve) => this.#wakeRead = resolve);
    }
    const chunk = this.#chunks[0]!;
    const n = Math.min(chunk.length, p.length);
    p.set(chunk.subarray(0, n));
    if (n === chunk.length) this.#chunks.shift();
    else this.#chunks[0] = chunk.subarray(n);
    this.#consumed += n;
    if (this.#consumed >= INITIAL_WINDOW / 2 && !this.#remoteFin) {
      const delta = this.#consumed;
      this.#consumed = 0;
      this.#recvWindow += delta;
      void this.#owner.send({
        type: FrameType.WindowUpdate,
        flags: this.#takeFirstFlags(),
        streamId: this.id,
        length: delta,
      }).catch(() => {});
    }
    return n;
  }

  /** Writes all of `p`, waiting for the peer's window; resolves with `p.length`. */
  async write(p: Uint8Array): Promise<number> {
    let offset = 0;
    while (offset < p.length) {
      while (this.#sendWindow === 0 && !this.#closed && !this.#reset) {
        await new Promise<void>((resolve) => {
          const wake = () => {
            this.#wakeWrite.delete(wake);
            resolve();
          };
          this.#wakeWrite.add(wake);
        });
      }
      if (this.#closed) throw new Deno.errors.BadResource("the yamux stream is closed");
      if (this.#reset) throw new Deno.errors.BrokenPipe(this.#reset.message);
      const n = Math.min(p.length - offset, this.#sendWindow, MAX_DATA_FRAME);
      this.#sendWindow -= n;
      await this.#owner.send(
        { type: FrameType.Data, flags: this.#takeFirstFlags(), streamId: this.id, length: n },
        p.subarray(offset, offset + n),
      );
      offset += n;
    }
    return p.length;
  }

  /** Half-closes (FIN) and forgets the stream; pending reads and writes fail. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#chunks = [];
    this.#notifyRead();
    for (const wake of this.#wakeWrite) wake();
    if (!this.#reset) this.#sendFlags(Flag.Fin);
    this.#owner.forget(this);
  }

  #sendFlags(flags: number): void {
    void this.#owner.send({
      type: FrameType.WindowUpdate,
      flags: flags | this.#takeFirstFlags(),
      streamId: this.id,
      length: 0,
    }).catch(() => {});
  }

  #takeFirstFlags(): number {
    const flags = this.#firstFlags;
    this.#firstFlags = 0;
    return flags;
  }

  #notifyRead(): void {
    const wake = this.#wakeRead;
    this.#wakeRead = undefined;
    wake?.();
  }
}
