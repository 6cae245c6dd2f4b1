/**
 * Splits bytes read from a socket into HTTP/2 frames without copying: the
 * socket reads into {@linkcode FrameReader.space}, and
 * {@linkcode FrameReader.next} exposes one complete frame at a time as a
 * view into the read buffer, valid until the next read.
 *
 * @module
 */
import { ErrorCode, FRAME_HEADER_LENGTH, H2Error } from "./frame.ts";

/** Parses frames out of a reusable read buffer. */
export class FrameReader {
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #maxFrameSize: number;
  /** Type of the current frame. */
  type = 0;
  /** Flags of the current frame. */
  flags = 0;
  /** Stream identifier of the current frame (reserved bit cleared). */
  streamId = 0;
  /** Payload of the current frame: a view valid until the next `space()` call. */
  payload: Uint8Array = new Uint8Array(0);

  /**
   * @param maxFrameSize The largest payload accepted (our SETTINGS_MAX_FRAME_SIZE).
   * @param capacity Initial read buffer size.
   */
  constructor(maxFrameSize: number, capacity = 65536) {
    this.#maxFrameSize = maxFrameSize;
    this.#buf = new Uint8Array(capacity);
  }

  /** Bytes received and not yet consumed as frames. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Returns free memory to read into, compacting or growing the buffer so a
   * whole frame fits. Invalidates views from earlier frames.
   */
  space(): Uint8Array {
    if (this.#start === this.#end) this.#start = this.#end = 0;
    let want = 16384;
    const pending = this.#end - this.#start;
    if (pending >= FRAME_HEADER_LENGTH) {
      const b = this.#buf;
      const p = this.#start;
      const length = (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
      want = Math.max(want, FRAME_HEADER_LENGTH + length - pending);
    }
    if (this.#buf.length - this.#end < want) {
      if (this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end = pending;
        this.#start = 0;
      }
      if (this.#buf.length - this.#end < want) {
        const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#end + want));
        next.set(this.#buf.subarray(0, this.#end));
        this.#buf = next;
      }
    }
    return this.#buf.subarray(this.#end);
  }

  /** Records that `n` bytes were read into the memory `space()` returned. */
  commit(n: number): void {
    this.#end += n;
  }

  /**
   * Advances to the next complete frame, filling `type`, `flags`, `streamId`
   * and `payload`. Returns `false` when more bytes are needed.
   *
   * @throws {H2Error} FRAME_SIZE_ERROR when a frame exceeds the maximum size.
   */
  next(): boolean {
    const available = this.#end - this.#start;
    if (available < FRAME_HEADER_LENGTH) return false;
    const b = this.#buf;
    const p = this.#start;
    const length = (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
    if (length > this.#maxFrameSize) {
      throw new H2Error(`Frame of ${length} bytes exceeds the maximum`, ErrorCode.FRAME_SIZE_ERROR);
    }
    if (available < FRAME_HEADER_LENGTH + length) return false;
    this.type = b[p + 3]!;
    this.flags = b[p + 4]!;
    this.streamId =
      ((b[p + 5]! & 0x7f) << 24 | (b[p + 6]! << 16) | (b[p + 7]! << 8) | b[p + 8]!) >>>
      0;
    const start = p + FRAME_HEADER_LENGTH;
    this.payload = b.subarray(start, start + length);
    this.#start = start + length;
    return true;
  }

  /** Consumes `n` raw bytes (the connection preface); returns them or `undefined`. */
  take(n: number): Uint8Array | undefined {
    if (this.#end - this.#start < n) return undefined;
    const view = this.#buf.subarray(this.#start, this.#start + n);
    this.#start += n;
    return view;
  }
}
