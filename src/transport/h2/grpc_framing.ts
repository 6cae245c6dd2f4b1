/**
 * gRPC over HTTP/2 wire details (gRPC's PROTOCOL-HTTP2.md): length-prefixed
 * messages, `grpc-timeout`, `grpc-message` percent-encoding, HTTP status
 * mapping, and the names of headers that belong to the protocol.
 *
 * @module
 */
import { Code, ConnectError } from "../../npm/connect.ts";

/** Length of the message prefix: a flag byte and a 32-bit big-endian length. */
export const PREFIX_LENGTH = 5;

/** Returns the 5-byte prefix of an uncompressed message of `length` bytes. */
export function messagePrefix(length: number): Uint8Array {
  const p = new Uint8Array(PREFIX_LENGTH);
  p[1] = length >>> 24;
  p[2] = length >>> 16;
  p[3] = length >>> 8;
  p[4] = length;
  return p;
}

/** Messages up to this size are copied into a shared slab, not a buffer of their own. */
const SLAB_MESSAGE_MAX = 256;
/** Size of a slab; a small message kept alive keeps at most this much memory alive. */
const SLAB_SIZE = 8192;
let slab = new Uint8Array(SLAB_SIZE);
let slabUsed = 0;

/**
 * Copies `data[start, end)` out of a reused buffer. Small messages are
 * carved out of a shared slab: allocating an `ArrayBuffer` of its own per
 * message (as `slice` does) costs several times the copy, and most of the
 * garbage collector's work on small calls.
 */
export function copyMessage(data: Uint8Array, start: number, end: number): Uint8Array {
  const n = end - start;
  if (n > SLAB_MESSAGE_MAX) return data.slice(start, end);
  if (slabUsed + n > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    slabUsed = 0;
  }
  const view = slab.subarray(slabUsed, slabUsed + n);
  for (let i = 0; i < n; i++) view[i] = data[start + i]!;
  slabUsed = (slabUsed + n + 7) & ~7;
  return view;
}

/**
 * Returns a copy of the one message `data` holds when it is exactly one
 * uncompressed length-prefixed message of at most `readMaxBytes` (the usual
 * DATA frame of a small call), else `undefined` (use a
 * {@linkcode MessageDeframer}, which also reports the errors).
 */
export function wholeMessage(data: Uint8Array, readMaxBytes: number): Uint8Array | undefined {
  const n = data.length;
  if (n < PREFIX_LENGTH || data[0] !== 0) return undefined;
  const length = (data[1]! << 24 | data[2]! << 16 | data[3]! << 8 | data[4]!) >>> 0;
  if (length !== n - PREFIX_LENGTH || length > readMaxBytes) return undefined;
  return copyMessage(data, PREFIX_LENGTH, n);
}

/**
 * Reassembles length-prefixed messages from DATA payloads, copying each
 * message out of the (reused) read buffer exactly once.
 */
export class MessageDeframer {
  #max: number;
  #header: Uint8Array | undefined; // Only for a prefix split across DATA frames.
  #headerFill = 0;
  #message: Uint8Array | undefined;
  #messageFill = 0;

  /** @param readMaxBytes Largest message accepted. */
  constructor(readMaxBytes: number) {
    this.#max = readMaxBytes;
  }

  /** True when a message has begun and not yet completed. */
  get partial(): boolean {
    return this.#headerFill > 0 || this.#message !== undefined;
  }

  /**
   * Consumes `data`, calling `sink` with every message it completes.
   *
   * @throws {ConnectError} RESOURCE_EXHAUSTED for a message over the limit,
   *   INTERNAL for a compressed message or an invalid flag.
   */
  push(data: Uint8Array, sink: (message: Uint8Array) => void): void {
    let off = 0;
    const n = data.length;
    while (off < n) {
      if (this.#message === undefined) {
        let length: number;
        if (this.#headerFill === 0 && n - off >= PREFIX_LENGTH) {
          this.#checkFlag(data[off]!);
          length = (data[off + 1]! << 24 | data[off + 2]! << 16 | data[off + 3]! << 8 |
            data[off + 4]!) >>> 0;
          off += PREFIX_LENGTH;
        } else {
          const take = Math.min(PREFIX_LENGTH - this.#headerFill, n - off);
          const h = this.#header ??= new Uint8Array(PREFIX_LENGTH);
          h.set(data.subarray(off, off + take), this.#headerFill);
          this.#headerFill += take;
          off += take;
          if (this.#headerFill < PREFIX_LENGTH) return;
          this.#checkFlag(h[0]!);
          length = (h[1]! << 24 | h[2]! << 16 | h[3]! << 8 | h[4]!) >>> 0;
          this.#headerFill = 0;
        }
        if (length > this.#max) {
          throw new ConnectError(
            `message size ${length} is larger than configured readMaxBytes ${this.#max}`,
            Code.ResourceExhausted,
          );
        }
        if (n - off >= length) {
          sink(copyMessage(data, off, off + length));
          off += length;
          continue;
        }
        this.#message = new Uint8Array(length);
        this.#messageFill = 0;
      }
      const message = this.#message;
      const take = Math.min(message.length - this.#messageFill, n - off);
      message.set(data.subarray(off, off + take), this.#messageFill);
      this.#messageFill += take;
      off += take;
      if (this.#messageFill === message.length) {
        this.#message = undefined;
        sink(message);
      }
    }
  }

  #checkFlag(flag: number): void {
    if (flag === 0) return;
    throw new ConnectError(
      flag === 1
        ? "protocol error: received compressed message without grpc-encoding"
        : `protocol error: invalid message flag ${flag}`,
      Code.Internal,
    );
  }
}

/** Formats a timeout in milliseconds as a `grpc-timeout` value (at most 8 digits). */
export function encodeTimeout(timeoutMs: number): string {
  const ms = Math.max(1, Math.ceil(timeoutMs));
  if (ms < 1e8) return `${ms}m`;
  if (ms / 1e3 < 1e8) return `${Math.ceil(ms / 1e3)}S`;
  if (ms / 6e4 < 1e8) return `${Math.ceil(ms / 6e4)}M`;
  return `${Math.min(99999999, Math.ceil(ms / 3.6e6))}H`;
}

const TIMEOUT_UNITS: Record<string, number> = {
  H: 3.6e6,
  M: 6e4,
  S: 1e3,
  m: 1,
  u: 1e-3,
  n: 1e-6,
};

/**
 * Parses a `grpc-timeout` value into milliseconds.
 *
 * @returns Milliseconds, or `undefined` when the value is malformed.
 */
export function parseTimeout(value: string): number | undefined {
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (match === null) return undefined;
  return Number(match[1]) * TIMEOUT_UNITS[match[2]!]!;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HEX = "0123456789ABCDEF";

/** Percent-encodes a `grpc-message` value: UTF-8, then `%XX` outside printable ASCII and for `%`. */
export function percentEncode(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  let out = "";
  for (const b of encoder.encode(message)) {
    out += b < 0x20 || b > 0x7e || b === 0x25
      ? `%${HEX[b >>> 4]}${HEX[b & 15]}`
      : String.fromCharCode(b);
  }
  return out;
}

/** Decodes a percent-encoded `grpc-message`; malformed escapes are kept as they are. */
export function percentDecode(value: string): string {
  if (!value.includes("%")) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (
      c === 0x25 && i + 2 < value.length &&
      /^[0-9a-fA-F]{2}$/.test(value.slice(i + 1, i + 3))
    ) {
      bytes.push(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(c & 0xff);
    }
  }
  return decoder.decode(new Uint8Array(bytes));
}

/** Maps a non-200 HTTP status to a gRPC code (gRPC's http-grpc-status-mapping.md). */
export function codeFromHttpStatus(status: number): Code {
  switch (status) {
    case 400:
      return Code.Internal;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}

/** Header names that belong to HTTP/2 or gRPC and never pass as user metadata. */
export const PROTOCOL_HEADERS: ReadonlySet<string> = new Set([
  "content-type",
  "content-length",
  "content-encoding",
  "host",
  "user-agent",
  "trailer",
  "date",
  "te",
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "grpc-encoding",
  "grpc-accept-encoding",
  "grpc-timeout",
  "grpc-status",
  "grpc-message",
  "grpc-status-details-bin",
]);

/** Appends user metadata from `headers` to a header list, skipping protocol headers. */
export function appendMetadata(list: string[], headers: Headers): void {
  headers.forEach((value, name) => {
    if (!PROTOCOL_HEADERS.has(name) && name.charCodeAt(0) !== 0x3a) list.push(name, value);
  });
}

/** Builds a `Headers` object from a header list, skipping pseudo-headers. */
export function headersFromList(list: readonly string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!;
    if (name.charCodeAt(0) === 0x3a) continue;
    try {
      headers.append(name, list[i + 1]!);
    } catch {
      // A value Headers refuses (e.g. with a NUL byte) is dropped, not fatal.
    }
  }
  return headers;
}
