/**
 * HTTP/2 frame codec (RFC 9113, section 4 and 6): constants, the error that
 * carries an HTTP/2 error code, and {@linkcode OutputBuffer}, a growable
 * byte buffer that frames are encoded into so that many frames leave in one
 * socket write.
 *
 * @module
 */

/** Frame types (RFC 9113, section 6). */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** Frame flags; `ACK` and `END_STREAM` share a bit and apply to different types. */
export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** Error codes for RST_STREAM and GOAWAY (RFC 9113, section 7). */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

/** Setting identifiers (RFC 9113, section 6.5.2). */
export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** Length of a frame header in bytes. */
export const FRAME_HEADER_LENGTH = 9;
/** The initial flow-control window and the smallest legal MAX_FRAME_SIZE's companion. */
export const DEFAULT_WINDOW_SIZE = 65535;
/** The default and smallest legal SETTINGS_MAX_FRAME_SIZE. */
export const DEFAULT_MAX_FRAME_SIZE = 16384;
/** The largest flow-control window (2^31 - 1). */
export const MAX_WINDOW_SIZE = 0x7fffffff;

/** The client connection preface, `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`. */
export const CONNECTION_PREFACE: Uint8Array = new TextEncoder().encode(
  "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
);

/**
 * An HTTP/2 protocol violation. With a `streamId` it is a stream error
 * (answered with RST_STREAM), without one a connection error (GOAWAY).
 */
export class H2Error extends Error {
  /** The HTTP/2 error code, one of {@linkcode ErrorCode}. */
  readonly code: number;
  /** The stream the error applies to; `undefined` for a connection error. */
  readonly streamId: number | undefined;
  /**
   * @param message What went wrong.
   * @param code The HTTP/2 error code.
   * @param streamId The stream, for a stream error.
   */
  constructor(message: string, code: number, streamId?: number) {
    super(message);
    this.name = "H2Error";
    this.code = code;
    this.streamId = streamId;
  }
}

/**
 * A growable byte buffer that HTTP/2 frames are appended to. `bytes()` views
 * what was written; `reset()` empties it and keeps the memory.
 */
export class OutputBuffer {
  /** The backing memory; valid up to {@linkcode OutputBuffer.length}. */
  buf: Uint8Array;
  /** Bytes written so far. */
  length = 0;

  /** @param capacity Initial size of the backing memory in bytes. */
  constructor(capacity = 16384) {
    this.buf = new Uint8Array(capacity);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  /** The bytes written so far (a view, not a copy). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /**
   * Empties the buffer, shrinking memory that grew past 1 MiB once it holds
   * less than a quarter of it (one large message's memory is given back,
   * while a stream that keeps filling megabytes keeps its buffer instead of
   * growing it again, copy after copy, for every write).
   */
  reset(): void {
    if (this.buf.length > 1 << 20 && this.length < this.buf.length >>> 2) {
      this.buf = new Uint8Array(16384);
    }
    this.length = 0;
  }

  /** Appends a frame header; the caller appends `length` payload bytes next. */
  frameHeader(length: number, type: number, flags: number, streamId: number): void {
    this.ensure(FRAME_HEADER_LENGTH + length);
    this.patchFrameHeader(this.length, length, type, flags, streamId);
    this.length += FRAME_HEADER_LENGTH;
  }

  /** Writes a frame header at `pos`, over bytes already reserved. */
  patchFrameHeader(pos: number, length: number, type: number, flags: number, id: number): void {
    const b = this.buf;
    b[pos] = length >>> 16;
    b[pos + 1] = length >>> 8;
    b[pos + 2] = length;
    b[pos + 3] = type;
    b[pos + 4] = flags;
    b[pos + 5] = id >>> 24 & 0x7f;
    b[pos + 6] = id >>> 16;
    b[pos + 7] = id >>> 8;
    b[pos + 8] = id;
  }

  /** Appends raw bytes. */
  append(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** Appends a 32-bit big-endian unsigned integer. */
  u32(value: number): void {
    this.ensure(4);
    const b = this.buf;
    const p = this.length;
    b[p] = value >>> 24;
    b[p + 1] = value >>> 16;
    b[p + 2] = value >>> 8;
    b[p + 3] = value;
    this.length = p + 4;
  }

  /** Appends a SETTINGS frame with the given `[id, value]` pairs (empty with `ack`). */
  settings(settings: readonly (readonly [number, number])[], ack = false): void {
    this.frameHeader(ack ? 0 : settings.length * 6, FrameType.SETTINGS, ack ? Flag.ACK : 0, 0);
    if (ack) return;
    for (const [id, value] of settings) {
      this.buf[this.length++] = id >>> 8;
      this.buf[this.length++] = id;
      this.u32(value);
    }
  }

  /** Appends a PING frame. */
  ping(payload: Uint8Array, ack: boolean): void {
    this.frameHeader(8, FrameType.PING, ack ? Flag.ACK : 0, 0);
    this.append(payload.subarray(0, 8));
  }

  /** Appends a GOAWAY frame with optional debug text. */
  goaway(lastStreamId: number, code: number, debug = ""): void {
    const text = new TextEncoder().encode(debug.slice(0, 256));
    this.frameHeader(8 + text.length, FrameType.GOAWAY, 0, 0);
    this.u32(lastStreamId & 0x7fffffff);
    this.u32(code);
    this.append(text);
  }

  /** Appends an RST_STREAM frame. */
  rstStream(streamId: number, code: number): void {
    this.frameHeader(4, FrameType.RST_STREAM, 0, streamId);
    this.u32(code);
  }

  /** Appends a WINDOW_UPDATE frame. */
  windowUpdate(streamId: number, increment: number): void {
    this.frameHeader(4, FrameType.WINDOW_UPDATE, 0, streamId);
    this.u32(increment & 0x7fffffff);
  }
}
