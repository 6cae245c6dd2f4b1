/**
 * The response budget: how much a plugin's answer may hold before the host
 * builds an object for each of its messages. An answer arrives as bytes
 * (at most `max_message_bytes` on the wire, 4 MiB by default), but 4 MB of
 * empty messages decode to 2 000 000 objects, hundreds of megabytes. So
 * the host walks the encoded batch first — counting messages and adding up
 * an estimate of their decoded size, without allocating — and decodes it
 * only when it fits.
 *
 * The estimate: every bytes and string field's length, plus
 * {@linkcode NODE_BYTES} for each object decoding makes (a message, a
 * payload, a value, a map entry, an error).
 *
 * @module
 */

/** How much one plugin answer may hold. */
export interface ResponseBudget {
  /**
   * A processor's answer: at most this many messages per message it was given.
   * @default {100}
   */
  messagesPerMessage: number;
  /**
   * An input's batch: at most this many messages.
   * @default {100000}
   */
  messages: number;
  /**
   * Either: at most this many bytes, decoded (estimated).
   * @default {67108864}
   */
  bytes: number;
}

/**
 * The defaults. 100× leaves room for processors that split a message into
 * many (lines of a file, records of an archive) while a batch of 100 still
 * cannot become more than 10 000; 64 MiB decoded is sixteen times the
 * default wire limit, enough for any answer of real payloads, and with
 * `max_in_flight` 4 a stage holds at most 256 MiB of answers at once.
 */
export const DEFAULT_RESPONSE_BUDGET: Readonly<ResponseBudget> = Object.freeze({
  messagesPerMessage: 100,
  messages: 100_000,
  bytes: 64 * 1024 * 1024,
});

/** What one decoded object is estimated to cost, in bytes (V8 object, its fields). */
export const NODE_BYTES = 128;

/** Deepest nesting of values accepted in a message's payload or metadata. */
const MAX_DEPTH = 64;

/** What the walk found: within the budget (with the figures), or which limit it broke. */
export type Weight =
  | { ok: true; messages: number; bytes: number }
  | { ok: false; over: "messages" | "bytes" | "malformed"; messages: number; detail: string };

class Malformed extends Error {}
class OverBytes extends Error {}

/** A cursor over protobuf wire bytes that never allocates. */
class Wire {
  readonly buf: Uint8Array;
  pos = 0;
  bytes = 0;
  readonly maxBytes: number;

  constructor(buf: Uint8Array, maxBytes: number) {
    this.buf = buf;
    this.maxBytes = maxBytes;
  }

  varint(end: number): number {
    let value = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (this.pos >= end) throw new Malformed("a truncated varint");
      const byte = this.buf[this.pos++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    throw new Malformed("a varint longer than 10 bytes");
  }

  /** Reads a length prefix; returns where the field ends. */
  length(end: number): number {
    const length = this.varint(end);
    const stop = this.pos + length;
    if (stop > end) throw new Malformed("a field longer than its message");
    return stop;
  }

  skip(wireType: number, end: number): void {
    switch (wireType) {
      case 0:
        this.varint(end);
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.pos = this.length(end);
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new Malformed(`wire type ${wireType}`);
    }
    if (this.pos > end) throw new Malformed("a field longer than its message");
  }

  charge(bytes: number): void {
    this.bytes += bytes;
    if (this.bytes > this.maxBytes) throw new OverBytes();
  }
}

/** Counts the messages of encoded `MessageBatch`es, skipping their contents. */
function countMessages(batches: readonly Uint8Array[]): number {
  let count = 0;
  for (const batch of batches) {
    const wire = new Wire(batch, Infinity);
    while (wire.pos < batch.length) {
      const tag = wire.varint(batch.length);
      if (tag === 0x0a) count++; // field 1 (messages), length-delimited
      wire.skip(tag & 7, batch.length);
    }
  }
  return count;
}

/** Walks one `Message` (payload, metadata, error). */
function weighMessage(wire: Wire, end: number): void {
  wire.charge(NODE_BYTES);
  while (wire.pos < end) {
    const tag = wire.varint(end);
    if ((tag & 7) !== 2) {
      wire.skip(tag & 7, end);
      continue;
    }
    const stop = wire.length(end);
    switch (tag >>> 3) {
      case 2: // structured: Value
        weighValue(wire, stop, 1);
        break;
      case 3: // metadata: StructValue
        weighStruct(wire, stop, 1);
        break;
      default: // bytes payload, error, unknown: their length
        wire.charge(NODE_BYTES + (stop - wire.pos));
    }
    wire.pos = stop;
  }
}

function weighValue(wire: Wire, end: number, depth: number): void {
  if (depth > MAX_DEPTH) throw new Malformed(`values nested deeper than ${MAX_DEPTH}`);
  wire.charge(NODE_BYTES);
  while (wire.pos < end) {
    const tag = wire.varint(end);
    if ((tag & 7) !== 2) {
      wire.skip(tag & 7, end);
      continue;
    }
    const stop = wire.length(end);
    const field = tag >>> 3;
    if (field === 8) weighStruct(wire, stop, depth + 1);
    else if (field === 9) weighList(wire, stop, depth + 1);
    else wire.charge(NODE_BYTES + (stop - wire.pos)); // string, bytes, timestamp
    wire.pos = stop;
  }
}

function weighStruct(wire: Wire, end: number, depth: number): void {
  if (depth > MAX_DEPTH) throw new Malformed(`values nested deeper than ${MAX_DEPTH}`);
  wire.charge(NODE_BYTES);
  while (wire.pos < end) {
    const tag = wire.varint(end);
    if (tag !== 0x0a) { // field 1 (fields): map entries
      wire.skip(tag & 7, end);
      continue;
    }
    const entryEnd = wire.length(end);
    wire.charge(NODE_BYTES);
    while (wire.pos < entryEnd) {
      const entryTag = wire.varint(entryEnd);
      if ((entryTag & 7) !== 2) {
        wire.skip(entryTag & 7, entryEnd);
        continue;
      }
      const stop = wire.length(entryEnd);
      if (entryTag >>> 3 === 2) weighValue(wire, stop, depth + 1);
      else wire.charge(stop - wire.pos); // the key
      wire.pos = stop;
    }
  }
}

function weighList(wire: Wire, end: number, depth: number): void {
  if (depth > MAX_DEPTH) throw new Malformed(`values nested deeper than ${MAX_DEPTH}`);
  wire.charge(NODE_BYTES);
  while (wire.pos < end) {
    const tag = wire.varint(end);
    if (tag !== 0x0a) {
      wire.skip(tag & 7, end);
      continue;
    }
    const stop = wire.length(end);
    weighValue(wire, stop, depth + 1);
    wire.pos = stop;
  }
}

/**
 * Weighs encoded `MessageBatch`es against a budget, before decoding them.
 *
 * @param batches The encoded batches of one answer.
 * @param maxMessages How many messages they may hold in all.
 * @param maxBytes How many bytes they may take decoded (estimated).
 * @returns Within the budget, with the figures; or the limit it broke (or malformed).
 * @example
 * ```ts
 * import { weighBatches } from "./response_budget.ts";
 * const threeEmpty = new Uint8Array([0x0a, 0, 0x0a, 0, 0x0a, 0]);
 * const weight = weighBatches([threeEmpty], 2, 1 << 20);
 * if (weight.ok || weight.messages !== 3) throw new Error();
 * ```
 */
export function weighBatches(
  batches: readonly Uint8Array[],
  maxMessages: number,
  maxBytes: number,
): Weight {
  let messages = 0;
  try {
    messages = countMessages(batches);
    if (messages > maxMessages) {
      return { ok: false, over: "messages", messages, detail: `${messages} messages` };
    }
    let bytes = 0;
    for (const batch of batches) {
      const wire = new Wire(batch, maxBytes - bytes);
      wire.charge(NODE_BYTES);
      while (wire.pos < batch.length) {
        const tag = wire.varint(batch.length);
        if (tag !== 0x0a) {
          wire.skip(tag & 7, batch.length);
          continue;
        }
        const stop = wire.length(batch.length);
        weighMessage(wire, stop);
        wire.pos = stop;
      }
      bytes += wire.bytes;
    }
    return { ok: true, messages, bytes };
  } catch (error) {
    if (error instanceof OverBytes) {
      return { ok: false, over: "bytes", messages, detail: `over ${maxBytes} bytes decoded` };
    }
    if (error instanceof Malformed) {
      return { ok: false, over: "malformed", messages, detail: error.message };
    }
    throw error;
  }
}
