/**
 * Yamux frames (hashicorp/yamux `spec.md`): a 12-byte big-endian header —
 * version (0), type, flags, stream id, length — then, for a data frame,
 * `length` bytes of payload. For a window update `length` is the window
 * delta, for a ping an opaque value echoed back, for a go-away an error
 * code. Stream id 0 is the session (pings, go-away); a client opens odd
 * ids, a server even ones.
 *
 * @module
 */

/** The header's size in bytes. */
export const HEADER_BYTES = 12;

/** Every stream's receive window at the start (256 KiB); both sides assume it. */
export const INITIAL_WINDOW = 256 * 1024;

/** Frame types. */
export const FrameType = {
  /** Payload bytes for a stream. */
  Data: 0,
  /** Grows the sender's window of a stream by `length` bytes. */
  WindowUpdate: 1,
  /** Liveness: SYN asks, ACK answers with the same value. */
  Ping: 2,
  /** Ends the session, `length` an error code ({@linkcode GoAwayCode}). */
  GoAway: 3,
} as const;

/** Frame flags. */
export const Flag = {
  /** Opens a stream (a ping: asks). */
  Syn: 0x1,
  /** Accepts a stream (a ping: answers). */
  Ack: 0x2,
  /** Half-closes a stream: the sender sends no more. */
  Fin: 0x4,
  /** Resets a stream at once. */
  Rst: 0x8,
} as const;

/** Go-away error codes. */
export const GoAwayCode = {
  /** Normal termination. */
  Normal: 0,
  /** The peer broke the protocol. */
  ProtocolError: 1,
  /** Something failed inside. */
  InternalError: 2,
} as const;

/** A decoded header. */
export interface FrameHeader {
  /** One of {@linkcode FrameType}. */
  type: number;
  /** {@linkcode Flag} bits. */
  flags: number;
  /** The stream (0: the session). */
  streamId: number;
  /** Payload length, window delta, ping value or go-away code. */
  length: number;
}

/**
 * Encodes a header (and copies `payload` after it, for a data frame).
 *
 * @param header The header's fields.
 * @param payload A data frame's bytes; its length must be `header.length`.
 * @returns The frame's bytes.
 * @example
 * ```ts
 * import { encodeFrame, FrameType, Flag } from "./frame.ts";
 * const bytes = encodeFrame({ type: FrameType.Ping, flags: Flag.Syn, streamId: 0, length: 7 });
 * if (bytes.length !== 12 || bytes[1] !== 2 || bytes[11] !== 7) throw new Error();
 * ```
 */
export function encodeFrame(header: FrameHeader, payload?: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES + (payload?.length ?? 0));
  const view = new DataView(bytes.buffer);
  view.setUint8(0, 0);
  view.setUint8(1, header.type);
  view.setUint16(2, header.flags);
  view.setUint32(4, header.streamId);
  view.setUint32(8, header.length);
  if (payload !== undefined) bytes.set(payload, HEADER_BYTES);
  return bytes;
}

/**
 * Decodes a header from the first 12 bytes of `bytes`.
 *
 * @param bytes At least 12 bytes.
 * @returns The header.
 * @throws {RangeError} When the version is not 0 or the type is unknown.
 * @example
 * ```ts
 * import { decodeHeader, encodeFrame, FrameType } from "./frame.ts";
 * const h = decodeHeader(encodeFrame({ type: FrameType.Data, flags: 0, streamId: 3, length: 0 }));
 * if (h.streamId !== 3) throw new Error();
 * ```
 */
export function decodeHeader(bytes: Uint8Array): FrameHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const version = view.getUint8(0);
  const type = view.getUint8(1);
  if (version !== 0) throw new RangeError(`unknown yamux version ${version}`);
  if (type > FrameType.GoAway) throw new RangeError(`unknown yamux frame type ${type}`);
  return {
    type,
    flags: view.getUint16(2),
    streamId: view.getUint32(4),
    length: view.getUint32(8),
  };
}
