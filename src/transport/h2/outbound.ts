/**
 * The sending half of an HTTP/2 connection: HPACK-encoded header blocks
 * (split into CONTINUATION frames past the peer's frame size), and DATA
 * from each stream's queue within the stream's and the connection's send
 * windows. A stream that runs out of connection window waits in a blocked
 * set until the peer's WINDOW_UPDATE on stream 0. Frames go to a coalescing
 * {@linkcode SocketWriter}.
 *
 * @module
 */
import {
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW_SIZE,
  ErrorCode,
  Flag,
  FrameType,
  H2Error,
  MAX_WINDOW_SIZE,
} from "./frame.ts";
import type { HeaderList } from "./hpack.ts";
import { HpackEncoder } from "./hpack_encoder.ts";
import type { H2Stream } from "./stream.ts";
import type { SocketWriter } from "./writer.ts";

/** Frames a connection's streams onto its socket writer, within flow control. */
export class Outbound {
  /** The peer's SETTINGS_MAX_FRAME_SIZE. */
  peerMaxFrame: number = DEFAULT_MAX_FRAME_SIZE;
  #writer: SocketWriter;
  #encoder = new HpackEncoder();
  #window = DEFAULT_WINDOW_SIZE;
  #blocked = new Set<H2Stream>();
  #onLocalClosed: (stream: H2Stream) => void;

  /**
   * @param writer Where frames go.
   * @param onLocalClosed Called when a flush sent a stream's END_STREAM.
   */
  constructor(writer: SocketWriter, onLocalClosed: (stream: H2Stream) => void) {
    this.#writer = writer;
    this.#onLocalClosed = onLocalClosed;
  }

  /** Applies the peer's SETTINGS_HEADER_TABLE_SIZE. */
  setHeaderTableSize(size: number): void {
    this.#encoder.setMaxTableSize(size);
  }

  /**
   * Adds the peer's WINDOW_UPDATE on stream 0 and sends what it unblocks.
   *
   * @throws {H2Error} When the window overflows.
   */
  addConnectionWindow(increment: number): void {
    this.#window += increment;
    if (this.#window > MAX_WINDOW_SIZE) {
      throw new H2Error("Connection window overflow", ErrorCode.FLOW_CONTROL_ERROR);
    }
    const blocked = [...this.#blocked];
    this.#blocked.clear();
    for (const stream of blocked) this.flush(stream);
  }

  /** Forgets a stream that ended. */
  forget(stream: H2Stream): void {
    this.#blocked.delete(stream);
  }

  /** Forgets every stream (the connection is closing). */
  clear(): void {
    this.#blocked.clear();
  }

  /**
   * Sends a header block: HEADERS, plus CONTINUATION frames as needed;
   * `extra` fields follow `fields` (see `HpackEncoder.encode`).
   */
  headers(id: number, fields: HeaderList, endStream: boolean, extra?: HeaderList): void {
    const out = this.#writer.out;
    const start = out.length;
    out.ensure(9);
    out.length += 9;
    this.#encoder.encode(fields, out, extra);
    const length = out.length - start - 9;
    const end = endStream ? Flag.END_STREAM : 0;
    if (length <= this.peerMaxFrame) {
      out.patchFrameHeader(start, length, FrameType.HEADERS, end | Flag.END_HEADERS, id);
    } else {
      const block = out.buf.slice(start + 9, out.length);
      out.length = start;
      for (let off = 0; off < block.length; off += this.peerMaxFrame) {
        const n = Math.min(this.peerMaxFrame, block.length - off);
        const last = off + n === block.length ? Flag.END_HEADERS : 0;
        out.frameHeader(
          n,
          off === 0 ? FrameType.HEADERS : FrameType.CONTINUATION,
          (off === 0 ? end : 0) | last,
          id,
        );
        out.append(block.subarray(off, off + n));
      }
    }
    this.#writer.schedule();
  }

  /**
   * Sends one gRPC message of `length` bytes that `write` puts straight
   * into the output (no buffer of its own), when nothing is queued and the
   * windows and frame size allow; else returns false and sends nothing.
   */
  messageInto(
    stream: H2Stream,
    length: number,
    write: (buf: Uint8Array, pos: number) => void,
    endStream: boolean,
  ): boolean {
    if (!this.#fitsNow(stream, 5 + length)) return false;
    const out = this.#writer.out;
    const start = out.length;
    const at = this.#beginMessage(stream, length, endStream);
    try {
      write(out.buf, at);
    } catch (error) {
      out.length = start; // Drop the half-written frame.
      throw error;
    }
    this.#endMessage(stream, at + length, endStream);
    return true;
  }

  /**
   * Sends one length-prefixed gRPC message (flag 0, no compression): one
   * DATA frame written straight into the output when nothing is queued and
   * the windows and frame size allow, else queued behind the rest.
   */
  message(stream: H2Stream, bytes: Uint8Array, endStream: boolean): void {
    const n = 5 + bytes.length;
    const length = bytes.length;
    if (this.#fitsNow(stream, n)) {
      const at = this.#beginMessage(stream, length, endStream);
      this.#writer.out.buf.set(bytes, at);
      this.#endMessage(stream, at + length, endStream);
      return;
    }
    const prefix = new Uint8Array(5);
    prefix[1] = length >>> 24;
    prefix[2] = length >>> 16;
    prefix[3] = length >>> 8;
    prefix[4] = length;
    stream.queue.push(prefix);
    if (length > 0) stream.queue.push(bytes);
    stream.queuedBytes += n;
    if (endStream) stream.queueEnd = true;
    this.flush(stream);
  }

  /** Whether a DATA frame of `n` bytes can go out now: nothing queued, windows and frame size allow. */
  #fitsNow(stream: H2Stream, n: number): boolean {
    return stream.queuedBytes === 0 && n <= stream.sendWindow && n <= this.#window &&
      n <= this.peerMaxFrame;
  }

  /**
   * Writes the DATA frame header and gRPC prefix of a `length`-byte message
   * into the output; returns where the message's bytes go.
   */
  #beginMessage(stream: H2Stream, length: number, endStream: boolean): number {
    const out = this.#writer.out;
    out.frameHeader(5 + length, FrameType.DATA, endStream ? Flag.END_STREAM : 0, stream.id);
    const b = out.buf;
    const p = out.length;
    b[p] = 0;
    b[p + 1] = length >>> 24;
    b[p + 2] = length >>> 16;
    b[p + 3] = length >>> 8;
    b[p + 4] = length;
    return p + 5;
  }

  /** Takes a message written in place up to `end`: counts it against the windows, ends the stream. */
  #endMessage(stream: H2Stream, end: number, endStream: boolean): void {
    const out = this.#writer.out;
    const n = end - out.length;
    out.length = end;
    this.#writer.dataPending += 9 + n;
    stream.sendWindow -= n;
    this.#window -= n;
    if (endStream) {
      stream.queueEnd = true;
      stream.localClosed = true;
      stream.wake();
      this.#onLocalClosed(stream);
    }
    this.#writer.schedule();
  }

  /**
   * Sends as much of the stream's queue as the windows allow, then its
   * trailers or END_STREAM once the queue is empty.
   */
  flush(stream: H2Stream): void {
    if (stream.done) return;
    const out = this.#writer.out;
    let wrote = false;
    while (stream.queuedBytes > 0) {
      const n = Math.min(stream.sendWindow, this.#window, this.peerMaxFrame, stream.queuedBytes);
      if (n <= 0) {
        if (stream.sendWindow > 0) this.#blocked.add(stream);
        break;
      }
      const last = n === stream.queuedBytes && stream.queueEnd &&
        stream.queueTrailers === undefined;
      out.frameHeader(n, FrameType.DATA, last ? Flag.END_STREAM : 0, stream.id);
      let remaining = n;
      while (remaining > 0) {
        const chunk = stream.queue[0]!;
        const take = Math.min(chunk.length - stream.queueOffset, remaining);
        out.buf.set(chunk.subarray(stream.queueOffset, stream.queueOffset + take), out.length);
        out.length += take;
        remaining -= take;
        stream.queueOffset += take;
        if (stream.queueOffset === chunk.length) {
          stream.queue.shift();
          stream.queueOffset = 0;
        }
      }
      stream.queuedBytes -= n;
      this.#writer.dataPending += 9 + n;
      stream.sendWindow -= n;
      this.#window -= n;
      wrote = true;
      if (last) stream.localClosed = true;
    }
    if (stream.queuedBytes === 0) {
      if (stream.queueTrailers !== undefined) {
        this.headers(stream.id, stream.queueTrailers, true);
        stream.queueTrailers = undefined;
        stream.localClosed = true;
      } else if (stream.queueEnd && !stream.localClosed) {
        out.frameHeader(0, FrameType.DATA, Flag.END_STREAM, stream.id);
        this.#writer.dataPending += 9;
        stream.localClosed = true;
        wrote = true;
      }
      stream.wake();
      if (stream.localClosed) this.#onLocalClosed(stream);
    }
    if (wrote) this.#writer.schedule();
  }
}
