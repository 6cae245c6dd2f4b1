/**
 * gRPC status in trailers: `grpc-status`, `grpc-message` and
 * `grpc-status-details-bin` (a `google.rpc.Status`, encoded here by hand so
 * no generated code is needed) to and from {@linkcode ConnectError}.
 *
 * @module
 */
import { Code, ConnectError, decodeBinaryHeader, encodeBinaryHeader } from "../../npm/connect.ts";
import { create, toBinary } from "../../npm/protobuf.ts";
import { appendMetadata, percentDecode, percentEncode } from "./grpc_framing.ts";

/** The trailers of a successful call without trailing metadata (frozen, shared). */
const OK_TRAILERS: string[] = Object.freeze(["grpc-status", "0"]) as string[];

/**
 * Returns the trailer fields for a finished call: user trailers, then
 * `grpc-status` (and for an error its message, details and metadata). The
 * list may be frozen and shared: copy it to add to it.
 */
export function statusTrailers(
  error: ConnectError | undefined,
  trailer: Headers | undefined,
): string[] {
  if (error === undefined && trailer === undefined) return OK_TRAILERS;
  const list: string[] = [];
  if (trailer !== undefined) appendMetadata(list, trailer);
  if (error === undefined) {
    list.push("grpc-status", "0");
    return list;
  }
  if (!error.isWireError) appendMetadata(list, error.metadata);
  list.push("grpc-status", String(error.code));
  if (error.rawMessage !== "") list.push("grpc-message", percentEncode(error.rawMessage));
  if (error.details.length > 0) {
    list.push("grpc-status-details-bin", encodeBinaryHeader(encodeStatus(error)));
  }
  return list;
}

/**
 * Finds the status in trailers (or a trailers-only response's headers).
 *
 * @returns `undefined` for OK, a `ConnectError` otherwise; INTERNAL when
 *   `grpc-status` is missing or malformed.
 */
export function statusError(
  list: readonly string[],
  metadata: () => Headers,
): ConnectError | undefined {
  let status: string | undefined;
  let message = "";
  let details: string | undefined;
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i];
    if (name === "grpc-status") status = list[i + 1];
    else if (name === "grpc-message") message = percentDecode(list[i + 1]!);
    else if (name === "grpc-status-details-bin") details = list[i + 1];
  }
  if (status === "0") return undefined;
  const code = status === undefined || !/^\d{1,2}$/.test(status) ? -1 : Number(status);
  if (code < 1 || code > 16) {
    return new ConnectError(
      status === undefined
        ? "protocol error: missing grpc-status"
        : `protocol error: invalid grpc-status ${JSON.stringify(status)}`,
      Code.Internal,
      metadata(),
    );
  }
  const error = new ConnectError(message, code as Code, metadata());
  error.isWireError = true;
  if (details !== undefined) {
    try {
      error.details = decodeStatusDetails(decodeBinaryHeader(details));
    } catch {
      // Undecodable details are dropped; code and message stand.
    }
  }
  return error;
}

function varint(out: number[], value: number): void {
  while (value > 0x7f) {
    out.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
}

function field(out: number[], tag: number, bytes: Uint8Array): void {
  out.push((tag << 3) | 2);
  varint(out, bytes.length);
  for (const b of bytes) out.push(b);
}

function encodeStatus(error: ConnectError): Uint8Array {
  const out: number[] = [0x08];
  varint(out, error.code);
  field(out, 2, new TextEncoder().encode(error.rawMessage));
  for (const detail of error.details) {
    const [type, value] = "desc" in detail
      ? [detail.desc.typeName, toBinary(detail.desc, create(detail.desc, detail.value))]
      : [detail.type, detail.value];
    const any: number[] = [];
    field(any, 1, new TextEncoder().encode(`type.googleapis.com/${type}`));
    field(any, 2, value);
    field(out, 3, new Uint8Array(any));
  }
  return new Uint8Array(out);
}

interface Detail {
  type: string;
  value: Uint8Array;
}

function* fields(bytes: Uint8Array): Generator<[number, Uint8Array]> {
  let p = 0;
  const read = (): number => {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (p >= bytes.length) throw new RangeError("Cannot decode status: truncated");
      const b = bytes[p++]!;
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
    }
    throw new RangeError("Cannot decode status: varint too long");
  };
  while (p < bytes.length) {
    const key = read();
    const wire = key & 7;
    if (wire === 0) {
      read();
    } else if (wire === 2) {
      const length = read();
      if (p + length > bytes.length) throw new RangeError("Cannot decode status: truncated");
      yield [key >>> 3, bytes.subarray(p, p + length)];
      p += length;
    } else {
      throw new RangeError(`Cannot decode status: wire type ${wire}`);
    }
  }
}

function decodeStatusDetails(bytes: Uint8Array): Detail[] {
  const details: Detail[] = [];
  for (const [tag, any] of fields(bytes)) {
    if (tag !== 3) continue;
    let type = "";
    let value = new Uint8Array(0);
    for (const [anyTag, data] of fields(any)) {
      if (anyTag === 1) type = new TextDecoder().decode(data);
      if (anyTag === 2) value = data.slice();
    }
    details.push({ type: type.slice(type.lastIndexOf("/") + 1), value });
  }
  return details;
}
