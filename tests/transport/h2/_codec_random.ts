/**
 * Seeded random protobuf-es messages for the codec differential test:
 * values at and around every scalar kind's limits, -0 and NaN, ASCII,
 * non-ASCII, astral and lone-surrogate strings, empty and long bytes,
 * unknown fields of every wire type, nested up to a small depth.
 *
 * @module
 */
import { create, type DescField, type DescMessage, ScalarType } from "../../../src/npm/protobuf.ts";

/** A seeded PRNG (mulberry32): the same seed gives the same messages. */
export class Random {
  #state: number;
  /** @param seed Any 32-bit integer. */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  /** Random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
  /** A random 64-bit pattern as a bigint. */
  u64(): bigint {
    return (BigInt(this.int(2 ** 32)) << 32n) | BigInt(this.int(2 ** 32));
  }
}

const STRINGS = [
  "",
  "a",
  "hello",
  "héllo",
  "日本語",
  "😀x",
  "\ud800",
  "a\udc00b",
  "\u0000",
  "\ufeffbom",
];

function randomString(r: Random): string {
  if (r.int(3) === 0) return r.pick(STRINGS);
  const n = r.pick([1, 5, 40, 70, 200]);
  let s = "";
  for (let i = 0; i < n; i++) {
    const k = r.int(10);
    s += k < 7
      ? String.fromCharCode(32 + r.int(95))
      : k === 7
      ? String.fromCharCode(0x80 + r.int(0x780))
      : k === 8
      ? String.fromCharCode(0x800 + r.int(0xd000))
      : String.fromCodePoint(0x10000 + r.int(0x10000));
  }
  return s;
}

/** A random value of a scalar type, as protobuf-es holds it. */
export function randomScalar(r: Random, type: ScalarType, longAsString = false): unknown {
  const long = (v: bigint) => longAsString ? String(v) : v;
  switch (type) {
    case ScalarType.STRING:
      return randomString(r);
    case ScalarType.BYTES:
      return r.bytes(r.pick([0, 1, 31, 33, 100]));
    case ScalarType.BOOL:
      return r.int(2) === 0;
    case ScalarType.DOUBLE:
      return r.pick([0, -0, 1.5, -1e300, NaN, Infinity, -Infinity, 5e-324, r.next() * 1e6]);
    case ScalarType.FLOAT:
      return Math.fround(r.pick([0, -0, 1.5, -3.4e38, NaN, Infinity, 1e-45, r.next() * 1e6]));
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return r.pick([0, 1, -1, 127, 128, -129, 2147483647, -2147483648, r.int(2 ** 32) | 0]);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return r.pick([0, 1, 127, 128, 16384, 4294967295, r.int(2 ** 32)]);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return long(
        r.pick([
          0n,
          1n,
          -1n,
          2n ** 63n - 1n,
          -(2n ** 63n),
          -(2n ** 31n),
          2n ** 32n,
          BigInt.asIntN(64, r.u64()),
        ]),
      );
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return long(r.pick([0n, 1n, 2n ** 64n - 1n, 2n ** 32n - 1n, 2n ** 32n, r.u64()]));
  }
}

function randomMapKey(r: Random, type: ScalarType): string {
  const v = randomScalar(r, type);
  return type === ScalarType.STRING && r.int(10) === 0 ? "__proto__" : String(v);
}

function varint(n: number): number[] {
  const out = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** Unknown fields of every wire type, with numbers no test type uses. */
function randomUnknown(r: Random): { no: number; wireType: number; data: Uint8Array }[] {
  const out = [];
  for (let i = r.int(3); i > 0; i--) {
    const no = 9000 + r.int(1000);
    switch (r.int(5)) {
      case 0:
        out.push({ no, wireType: 0, data: new Uint8Array([0x96, 0x01]) });
        break;
      case 1:
        out.push({ no, wireType: 1, data: r.bytes(8) });
        break;
      case 2: {
        const body = r.bytes(r.int(20));
        out.push({ no, wireType: 2, data: new Uint8Array([body.length, ...body]) });
        break;
      }
      case 3:
        out.push({ no, wireType: 5, data: r.bytes(4) });
        break;
      default: // A group holding one varint field, and its end tag.
        out.push({ no, wireType: 3, data: new Uint8Array([0x08, 0x05, ...varint((no << 3) | 4)]) });
    }
  }
  return out;
}

function randomFieldValue(r: Random, field: DescField, depth: number): unknown {
  switch (field.fieldKind) {
    case "scalar":
      return randomScalar(r, field.scalar, field.longAsString);
    case "enum":
      return r.int(4) === 0 ? 77 : r.pick(field.enum.values).number;
    case "message":
      return randomMessage(r, field.message, depth + 1);
    case "list": {
      const n = r.pick([0, 1, 3, 20]);
      const items = [];
      for (let i = 0; i < n; i++) {
        items.push(
          field.listKind === "scalar"
            ? randomScalar(r, field.scalar, field.longAsString)
            : field.listKind === "enum"
            ? r.pick(field.enum.values).number
            : randomMessage(r, field.message, depth + 1),
        );
      }
      return items;
    }
    case "map": {
      const record: Record<string, unknown> = {};
      for (let i = r.pick([0, 1, 4]); i > 0; i--) {
        const value = field.mapKind === "scalar"
          ? randomScalar(r, field.scalar)
          : field.mapKind === "enum"
          ? r.pick(field.enum.values).number
          : randomMessage(r, field.message, depth + 1);
        Object.defineProperty(record, randomMapKey(r, field.mapKey), {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return record;
    }
  }
}

/** A random message of `desc`: each field set or not, nested to depth 3. */
export function randomMessage(r: Random, desc: DescMessage, depth = 0): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  for (const member of desc.members) {
    if (member.kind === "oneof") {
      if (r.int(3) === 0) continue;
      const field = r.pick(member.fields);
      if (field.fieldKind === "message" && depth >= 3) continue;
      init[member.localName] = { case: field.localName, value: randomFieldValue(r, field, depth) };
      continue;
    }
    if (r.int(2) === 0) continue;
    if (
      depth >= 3 &&
      (member.fieldKind === "message" || member.fieldKind === "list" || member.fieldKind === "map")
    ) {
      continue;
    }
    if (
      member.fieldKind === "message" && member.message.typeName.startsWith("google.protobuf.") &&
      member.message.typeName.endsWith("Value") && member.message.fields.length === 1
    ) {
      continue; // Wrapper fields hold plain values; leave them unset.
    }
    init[member.localName] = randomFieldValue(r, member, depth);
  }
  const message = create(desc, init as never) as Record<string, unknown>;
  if (r.int(4) === 0) {
    const unknown = randomUnknown(r);
    if (unknown.length > 0) message.$unknown = unknown;
  }
  return message;
}
