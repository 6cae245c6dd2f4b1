/**
 * Reads yamux frames off a connection with one bounded buffer: a header,
 * then a data frame's payload, never longer than a stream's window (a
 * longer one is refused before it is read). Internal to `yamux/`.
 *
 * @module
 */
import type { ByteStream } from "../h2/byte_stream.ts";
import {
  decodeHeader,
  type FrameHeader,
  FrameType,
  HEADER_BYTES,
  INITIAL_WINDOW,
} from "./frame.ts";

/** A frame: its header and, for a data frame, a copy of its payload. */
export interface Frame {
  /** The header. */
  header: FrameHeader;
  /** A data frame's bytes (its own copy). */
  payload?: Uint8Array;
}

/**
 * The frames on `conn`, until it ends (a frame cut short ends it too).
 *
 * @param conn The connection.
 * @returns The frames, in order.
 * @throws {RangeError} When a frame breaks the protocol: an unknown version
 *   or type, or a data frame longer than a window.
 */
export async function* readFrames(conn: ByteStream): AsyncGenerator<Frame> {
  let buffer = new Uint8Array(64 * 1024);
  let start = 0;
  let end = 0;
  const need = async (n: number): Promise<boolean> => {
    if (buffer.length - start < n) {
      const bigger = new Uint8Array(Math.max(buffer.length, n));
      bigger.set(buffer.subarray(start, end));
      end -= start;
      start = 0;
      buffer = bigger;
    }
    while (end - start < n) {
      if (end === buffer.length) {
        buffer.copyWithin(0, start, end);
        end -= start;
        start = 0;
      }
      const count = await conn.read(buffer.subarray(end));
      if (count === null) return false;
      end += count;
    }
    return true;
  };
  while (await need(HEADER_BYTES)) {
    const header = decodeHeader(buffer.subarray(start, start + HEADER_BYTES));
    start += HEADER_BYTES;
    if (header.type !== FrameType.Data) {
      yield { header };
      continue;
    }
    if (header.length > INITIAL_WINDOW) {
      throw new RangeError(`a data frame of ${header.length} bytes exceeds the window`);
    }
    if (!await need(header.length)) return;
    const payload = buffer.slice(start, start + header.length);
    start += header.length;
    yield { header, payload };
  }
}
