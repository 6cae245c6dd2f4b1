/**
 * Assembles a header block from a HEADERS frame and its CONTINUATION frames
 * (RFC 9113, section 6.2 and 6.10), bounding the block's size and the
 * number of frames so a peer cannot make us buffer without end.
 *
 * @module
 */
import { ErrorCode, Flag, H2Error } from "./frame.ts";

/** Most CONTINUATION frames accepted for one header block. */
export const MAX_CONTINUATIONS = 64;

/** A header block in progress; at most one per connection. */
export class HeaderBlockAssembler {
  /** Stream of the block in progress; 0 when none is. */
  streamId = 0;
  /** Whether the HEADERS frame carried END_STREAM. */
  endStream = false;
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  #continuations = 0;
  #maxBytes: number;

  /** @param maxBytes Largest compressed header block accepted. */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /**
   * Parses a HEADERS frame payload (padding, priority).
   *
   * @returns The complete block when END_HEADERS is set, else `undefined`
   *   (the fragment is kept until CONTINUATION frames complete it).
   * @throws {H2Error} PROTOCOL_ERROR on bad padding, ENHANCE_YOUR_CALM when too large.
   */
  headers(streamId: number, flags: number, payload: Uint8Array): Uint8Array | undefined {
    if (streamId === 0) throw new H2Error("HEADERS on stream 0", ErrorCode.PROTOCOL_ERROR);
    let start = 0;
    let end = payload.length;
    if (flags & Flag.PADDED) {
      if (end < 1) throw new H2Error("HEADERS too short for padding", ErrorCode.FRAME_SIZE_ERROR);
      end -= payload[0]!;
      start = 1;
    }
    if (flags & Flag.PRIORITY) start += 5;
    if (start > end) throw new H2Error("HEADERS padding exceeds payload", ErrorCode.PROTOCOL_ERROR);
    const fragment = payload.subarray(start, end);
    this.#check(fragment.length);
    this.endStream = (flags & Flag.END_STREAM) !== 0;
    if (flags & Flag.END_HEADERS) return fragment;
    this.streamId = streamId;
    this.#chunks = [fragment.slice()];
    this.#bytes = fragment.length;
    this.#continuations = 0;
    return undefined;
  }

  /**
   * Adds a CONTINUATION frame.
   *
   * @returns The complete block when END_HEADERS is set, else `undefined`.
   * @throws {H2Error} PROTOCOL_ERROR when no block is open on this stream,
   *   ENHANCE_YOUR_CALM when the block grows too large or too fragmented.
   */
  continuation(streamId: number, flags: number, payload: Uint8Array): Uint8Array | undefined {
    if (this.streamId === 0 || streamId !== this.streamId) {
      throw new H2Error("Unexpected CONTINUATION", ErrorCode.PROTOCOL_ERROR);
    }
    if (++this.#continuations > MAX_CONTINUATIONS) {
      throw new H2Error("Too many CONTINUATION frames", ErrorCode.ENHANCE_YOUR_CALM);
    }
    this.#bytes += payload.length;
    this.#check(this.#bytes);
    this.#chunks.push(payload.slice());
    if ((flags & Flag.END_HEADERS) === 0) return undefined;
    const block = new Uint8Array(this.#bytes);
    let offset = 0;
    for (const chunk of this.#chunks) {
      block.set(chunk, offset);
      offset += chunk.length;
    }
    this.streamId = 0;
    this.#chunks = [];
    return block;
  }

  #check(bytes: number): void {
    if (bytes > this.#maxBytes) {
      throw new H2Error(
        `Header block exceeds ${this.#maxBytes} bytes`,
        ErrorCode.ENHANCE_YOUR_CALM,
      );
    }
  }
}
