/**
 * Protobuf binary encoding of protobuf-es messages with encoders compiled
 * (as closures) once per message type, in two passes: the first computes
 * the size of every length-delimited part, in visiting order; the second
 * writes the message into one buffer of exactly the right size. One
 * allocation per message, where protobuf-es's `toBinary` makes a chunk list
 * per nested message and copies them together at the end.
 *
 * The output is byte-for-byte what `toBinary` writes (fields in number
 * order, unknown fields last, map entries in `Object.keys` order). Any value
 * `toBinary` would reject or coerce makes {@linkcode encodeCompiled} throw
 * {@linkcode DEFER}, so the caller can hand the message to protobuf-es and
 * report its error (or result) instead.
 *
 * @module
 */
import { type DescField, type DescMessage, ScalarType } from "../../npm/protobuf.ts";

/** Thrown when a message needs protobuf-es: a value the compiled path does not take as is. */
export const DEFER: Error = new Error("compiled codec: deferred to protobuf-es");

type Rec = Record<string, unknown>;
interface MessageEncoder {
  size(m: Rec): number;
  write(m: Rec): void;
}
interface FieldEncoder {
  size(m: Rec): number;
  write(m: Rec): void;
}
/** A scalar value's encoder: `size` may record a length for `write` (strings). */
interface ValueEncoder {
  wireType: number;
  size(v: unknown): number;
  write(v: unknown): void;
  zero(v: unknown): boolean;
}

// One encode runs at a time (it is synchronous), over this state.
let buf: Uint8Array = new Uint8Array(0);
let pos = 0;
const sizes: number[] = [];
let cursor = 0;
let lo = 0;
let hi = 0;

const f64 = new Float64Array(1);
const f64b = new Uint8Array(f64.buffer);
const f32 = new Float32Array(1);
const f32b = new Uint8Array(f32.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const FLOAT32_MAX = 3.4028234663852886e38;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const INTEGER = /^-?[0-9]+$/;
const encoder = new TextEncoder();

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

function varint64Size(l: number, h: number): number {
  if (h === 0) return varintSize(l);
  const bits = 64 - Math.clz32(h);
  return Math.ceil(bits / 7);
}

function writeVarint(n: number): void {
  while (n > 0x7f) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
}

function writeVarint64(l: number, h: number): void {
  while (h !== 0 || l > 0x7f) {
    buf[pos++] = (l & 0x7f) | 0x80;
    l = ((l >>> 7) | (h << 25)) >>> 0;
    h >>>= 7;
  }
  buf[pos++] = l;
}

function writeFixed32(n: number): void {
  buf[pos++] = n;
  buf[pos++] = n >>> 8;
  buf[pos++] = n >>> 16;
  buf[pos++] = n >>> 24;
}

function checkInt32(v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v > 0x7fffffff || v < -0x80000000) {
    throw DEFER;
  }
  return v;
}

function checkUint32(v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v > 0xffffffff || v < 0) throw DEFER;
  return v;
}

/** Splits a 64-bit integer (bigint, decimal string or safe integer) into `lo`/`hi`. */
function split64(v: unknown, unsigned: boolean): void {
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw DEFER;
    if (v >= 0 && v <= 0xffffffff) {
      lo = v;
      hi = 0;
      return;
    }
    v = BigInt(v);
  } else if (typeof v === "string") {
    if (!INTEGER.test(v)) throw DEFER;
    v = BigInt(v);
  } else if (typeof v !== "bigint") throw DEFER;
  const b = v as bigint;
  if (unsigned ? b < 0n || b > UINT64_MAX : b < INT64_MIN || b > INT64_MAX) throw DEFER;
  if (b >= 0n && b <= 0xffffffffn) {
    lo = Number(b);
    hi = 0;
    return;
  }
  const u = BigInt.asUintN(64, b);
  lo = Number(u & 0xffffffffn);
  hi = Number(u >> 32n);
}

function zigzag64(): void {
  const sign = hi >> 31;
  const h = (((hi << 1) | (lo >>> 31)) ^ sign) >>> 0;
  lo = ((lo << 1) ^ sign) >>> 0;
  hi = h;
}

function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (
      c >= 0xd800 && c <= 0xdbff && i + 1 < s.length &&
      (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00
    ) {
      n += 2; // Four bytes for two UTF-16 units.
      i++;
    } else n += 2; // Three bytes, also for a lone surrogate (written as U+FFFD).
  }
  return n;
}

function writeString(s: string, n: number): void {
  if (n === s.length) {
    for (let i = 0; i < n; i++) buf[pos++] = s.charCodeAt(i);
  } else {
    pos += encoder.encodeInto(s, buf.subarray(pos, pos + n)).written;
  }
}

function writeBytes(b: Uint8Array): void {
  const n = b.length;
  if (n > 32) buf.set(b, pos);
  else for (let i = 0; i < n; i++) buf[pos + i] = b[i]!;
  pos += n;
}

function int32Size(v: number): number {
  return v < 0 ? 10 : varintSize(v);
}

function writeInt32(v: number): void {
  if (v < 0) writeVarint64(v >>> 0, 0xffffffff);
  else writeVarint(v);
}

const looseZero = (v: unknown) => v == 0;

function valueEncoder(type: ScalarType): ValueEncoder {
  switch (type) {
    case ScalarType.STRING:
      return {
        wireType: 2,
        zero: (v) => v === "",
        size(v) {
          if (typeof v !== "string") throw DEFER;
          const n = utf8Length(v);
          sizes.push(n);
          return varintSize(n) + n;
        },
        write(v) {
          const n = sizes[cursor++]!;
          writeVarint(n);
          writeString(v as string, n);
        },
      };
    case ScalarType.BYTES:
      return {
        wireType: 2,
        zero: (v) => v instanceof Uint8Array && v.length === 0,
        size(v) {
          if (!(v instanceof Uint8Array)) throw DEFER;
          return varintSize(v.length) + v.length;
        },
        write(v) {
          writeVarint((v as Uint8Array).length);
          writeBytes(v as Uint8Array);
        },
      };
    case ScalarType.BOOL:
      return {
        wireType: 0,
        zero: (v) => v === false,
        size(v) {
          if (typeof v !== "boolean") throw DEFER;
          return 1;
        },
        write(v) {
          buf[pos++] = v ? 1 : 0;
        },
      };
    case ScalarType.DOUBLE:
      return {
        wireType: 1,
        zero: (v) => Object.is(v, 0),
        size(v) {
          if (typeof v !== "number" || !LITTLE_ENDIAN) throw DEFER;
          return 8;
        },
        write(v) {
          f64[0] = v as number;
          for (let i = 0; i < 8; i++) buf[pos++] = f64b[i]!;
        },
      };
    case ScalarType.FLOAT:
      return {
        wireType: 5,
        zero: (v) => Object.is(v, 0),
        size(v) {
          if (typeof v !== "number" || !LITTLE_ENDIAN) throw DEFER;
          if (Number.isFinite(v) && (v > FLOAT32_MAX || v < -FLOAT32_MAX)) throw DEFER;
          return 4;
        },
        write(v) {
          f32[0] = v as number;
          for (let i = 0; i < 4; i++) buf[pos++] = f32b[i]!;
        },
      };
    case ScalarType.INT32:
      return {
        wireType: 0,
        zero: looseZero,
        size: (v) => int32Size(checkInt32(v)),
        write: (v) => writeInt32(v as number),
      };
    case ScalarType.UINT32:
      return {
        wireType: 0,
        zero: looseZero,
        size: (v) => varintSize(checkUint32(v)),
        write: (v) => writeVarint(v as number),
      };
    case ScalarType.SINT32:
      return {
        wireType: 0,
        zero: looseZero,
        size(v) {
          const n = checkInt32(v);
          return varintSize(((n << 1) ^ (n >> 31)) >>> 0);
        },
        write(v) {
          const n = v as number;
          writeVarint(((n << 1) ^ (n >> 31)) >>> 0);
        },
      };
    case ScalarType.FIXED32:
      return {
        wireType: 5,
        zero: looseZero,
        size(v) {
          checkUint32(v);
          return 4;
        },
        write: (v) => writeFixed32(v as number),
      };
    case ScalarType.SFIXED32:
      return {
        wireType: 5,
        zero: looseZero,
        size(v) {
          checkInt32(v);
          return 4;
        },
        write: (v) => writeFixed32(v as number),
      };
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64: {
      const unsigned = type === ScalarType.UINT64;
      const zz = type === ScalarType.SINT64;
      return {
        wireType: 0,
        zero: looseZero,
        size(v) {
          split64(v, unsigned);
          if (zz) zigzag64();
          return varint64Size(lo, hi);
        },
        write(v) {
          split64(v, unsigned);
          if (zz) zigzag64();
          writeVarint64(lo, hi);
        },
      };
    }
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64: {
      const unsigned = type === ScalarType.FIXED64;
      return {
        wireType: 1,
        zero: looseZero,
        size(v) {
          split64(v, unsigned);
          return 8;
        },
        write(v) {
          split64(v, unsigned);
          writeFixed32(lo);
          writeFixed32(hi);
        },
      };
    }
  }
}

/** The bytes of a field's tag. */
function tagBytes(no: number, wireType: number): number[] {
  const out: number[] = [];
  let n = ((no << 3) | wireType) >>> 0;
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

function tagWriter(bytes: number[]): () => void {
  if (bytes.length === 1) {
    const b0 = bytes[0]!;
    return () => {
      buf[pos++] = b0;
    };
  }
  return () => {
    for (let i = 0; i < bytes.length; i++) buf[pos++] = bytes[i]!;
  };
}

/** A message value's size (recorded for the write pass) and its writer. */
function childSize(child: MessageEncoder, v: unknown, typeName: string): number {
  if (typeof v !== "object" || v === null || (v as Rec).$typeName !== typeName) throw DEFER;
  const slot = sizes.length;
  sizes.push(0);
  const n = child.size(v as Rec);
  sizes[slot] = n;
  return varintSize(n) + n;
}

function childWrite(child: MessageEncoder, v: unknown): void {
  writeVarint(sizes[cursor++]!);
  child.write(v as Rec);
}

function mapKey(type: ScalarType, key: string): unknown {
  switch (type) {
    case ScalarType.STRING:
      return key;
    case ScalarType.BOOL:
      if (key === "true") return true;
      if (key === "false") return false;
      throw DEFER;
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return key;
    default: {
      const n = Number.parseInt(key);
      if (!Number.isFinite(n)) throw DEFER;
      return n;
    }
  }
}

function fieldEncoder(field: DescField): FieldEncoder {
  const name = field.localName;
  const no = field.number;
  switch (field.fieldKind) {
    case "scalar":
    case "enum": {
      const value = valueEncoder(field.fieldKind === "enum" ? ScalarType.INT32 : field.scalar);
      const tag = tagBytes(no, value.wireType);
      const tagSize = tag.length;
      const writeTag = tagWriter(tag);
      if (field.oneof !== undefined) {
        const group = field.oneof.localName;
        return {
          size(m) {
            const o = m[group] as { case: unknown; value: unknown };
            return o.case === name ? tagSize + value.size(o.value) : 0;
          },
          write(m) {
            const o = m[group] as { case: unknown; value: unknown };
            if (o.case !== name) return;
            writeTag();
            value.write(o.value);
          },
        };
      }
      if (field.presence !== 2) { // Explicit presence (proto3 `optional`).
        return {
          size(m) {
            const v = m[name];
            if (v === undefined) return 0;
            return tagSize + value.size(v);
          },
          write(m) {
            const v = m[name];
            if (v === undefined) return;
            writeTag();
            value.write(v);
          },
        };
      }
      const zero = field.fieldKind === "enum"
        ? ((z: number) => (v: unknown) => v === z)(field.enum.values[0]!.number)
        : value.zero;
      return {
        size(m) {
          const v = m[name];
          return zero(v) ? 0 : tagSize + value.size(v);
        },
        write(m) {
          const v = m[name];
          if (zero(v)) return;
          writeTag();
          value.write(v);
        },
      };
    }
    case "message": {
      const child = encoderOf(field.message);
      const typeName = field.message.typeName;
      const tag = tagBytes(no, 2);
      const tagSize = tag.length;
      const writeTag = tagWriter(tag);
      const get = field.oneof === undefined
        ? (m: Rec) => m[name]
        : ((group: string) => (m: Rec) => {
          const o = m[group] as { case: unknown; value: unknown };
          return o.case === name ? o.value : undefined;
        })(field.oneof.localName);
      return {
        size(m) {
          const v = get(m);
          return v === undefined ? 0 : tagSize + childSize(child, v, typeName);
        },
        write(m) {
          const v = get(m);
          if (v === undefined) return;
          writeTag();
          childWrite(child, v);
        },
      };
    }
    case "list":
      return listEncoder(field);
    case "map":
      return mapEncoder(field);
  }
}

function items(m: Rec, name: string): unknown[] {
  const list = m[name];
  if (!Array.isArray(list)) throw DEFER;
  return list;
}

function listEncoder(field: DescField & { fieldKind: "list" }): FieldEncoder {
  const name = field.localName;
  const no = field.number;
  if (field.listKind === "message") {
    const child = encoderOf(field.message);
    const typeName = field.message.typeName;
    const tag = tagBytes(no, 2);
    const writeTag = tagWriter(tag);
    return {
      size(m) {
        const list = items(m, name);
        let n = list.length * tag.length;
        for (let i = 0; i < list.length; i++) n += childSize(child, list[i], typeName);
        return n;
      },
      write(m) {
        const list = m[name] as unknown[];
        for (let i = 0; i < list.length; i++) {
          writeTag();
          childWrite(child, list[i]);
        }
      },
    };
  }
  const value = valueEncoder(field.listKind === "enum" ? ScalarType.INT32 : field.scalar);
  if (field.packed) {
    const tag = tagBytes(no, 2);
    const writeTag = tagWriter(tag);
    return {
      size(m) {
        const list = items(m, name);
        if (list.length === 0) return 0;
        let n = 0;
        for (let i = 0; i < list.length; i++) n += value.size(list[i]);
        sizes.push(n);
        return tag.length + varintSize(n) + n;
      },
      write(m) {
        const list = m[name] as unknown[];
        if (list.length === 0) return;
        writeTag();
        writeVarint(sizes[cursor++]!);
        for (let i = 0; i < list.length; i++) value.write(list[i]);
      },
    };
  }
  const tag = tagBytes(no, value.wireType);
  const writeTag = tagWriter(tag);
  return {
    size(m) {
      const list = items(m, name);
      let n = list.length * tag.length;
      for (let i = 0; i < list.length; i++) n += value.size(list[i]);
      return n;
    },
    write(m) {
      const list = m[name] as unknown[];
      for (let i = 0; i < list.length; i++) {
        writeTag();
        value.write(list[i]);
      }
    },
  };
}

function mapEncoder(field: DescField & { fieldKind: "map" }): FieldEncoder {
  const name = field.localName;
  const keyType = field.mapKey;
  const key = valueEncoder(keyType);
  const keyTag = (1 << 3) | key.wireType;
  const tag = tagBytes(field.number, 2);
  const writeTag = tagWriter(tag);
  let valueSize: (v: unknown) => number;
  let valueWrite: (v: unknown) => void;
  let valueTag: number;
  if (field.mapKind === "message") {
    const child = encoderOf(field.message);
    const typeName = field.message.typeName;
    valueTag = (2 << 3) | 2;
    valueSize = (v) => childSize(child, v, typeName);
    valueWrite = (v) => childWrite(child, v);
  } else {
    const value = valueEncoder(field.mapKind === "enum" ? ScalarType.INT32 : field.scalar);
    valueTag = (2 << 3) | value.wireType;
    valueSize = value.size;
    valueWrite = value.write;
  }
  return {
    size(m) {
      const record = m[name];
      if (typeof record !== "object" || record === null) throw DEFER;
      const keys = Object.keys(record);
      let n = 0;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        const v = (record as Rec)[k];
        if (v === undefined) throw DEFER;
        const slot = sizes.length;
        sizes.push(0);
        const entry = 2 + key.size(mapKey(keyType, k)) + valueSize(v);
        sizes[slot] = entry;
        n += tag.length + varintSize(entry) + entry;
      }
      return n;
    },
    write(m) {
      const record = m[name] as Rec;
      const keys = Object.keys(record);
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        writeTag();
        writeVarint(sizes[cursor++]!);
        buf[pos++] = keyTag;
        key.write(mapKey(keyType, k));
        buf[pos++] = valueTag;
        valueWrite(record[k]);
      }
    },
  };
}

interface Unknown {
  no: number;
  wireType: number;
  data: Uint8Array;
}

function unknownSize(list: unknown): number {
  if (!Array.isArray(list)) throw DEFER;
  let n = 0;
  for (let i = 0; i < list.length; i++) {
    const u = list[i] as Unknown;
    if (
      typeof u !== "object" || u === null || !(u.data instanceof Uint8Array) ||
      !Number.isInteger(u.no) || u.no < 1 || u.no > 0x1fffffff ||
      !Number.isInteger(u.wireType) || u.wireType < 0 || u.wireType > 5
    ) throw DEFER;
    n += varintSize(((u.no << 3) | u.wireType) >>> 0) + u.data.length;
  }
  return n;
}

function unknownWrite(list: Unknown[]): void {
  for (let i = 0; i < list.length; i++) {
    const u = list[i]!;
    writeVarint(((u.no << 3) | u.wireType) >>> 0);
    writeBytes(u.data);
  }
}

const encoders = new WeakMap<DescMessage, MessageEncoder>();

function encoderOf(desc: DescMessage): MessageEncoder {
  const known = encoders.get(desc);
  if (known !== undefined) return known;
  const typeName = desc.typeName;
  const fields: FieldEncoder[] = [];
  const encoder: MessageEncoder = {
    size(m) {
      if (m.$typeName !== typeName) throw DEFER;
      let n = 0;
      for (let i = 0; i < fields.length; i++) n += fields[i]!.size(m);
      const unknown = m.$unknown;
      return unknown === undefined ? n : n + unknownSize(unknown);
    },
    write(m) {
      for (let i = 0; i < fields.length; i++) fields[i]!.write(m);
      const unknown = m.$unknown;
      if (unknown !== undefined) unknownWrite(unknown as Unknown[]);
    },
  };
  encoders.set(desc, encoder); // Before compiling fields: recursive types find it.
  const sorted = desc.fields.concat().sort((a, b) => a.number - b.number);
  for (const field of sorted) fields.push(fieldEncoder(field));
  return encoder;
}

// The message last sized, for `writeSized` (module state: no object per message).
let sizedEncoder: MessageEncoder | undefined;
let sizedMessage: Rec | undefined;
let sizedSize = 0;

/**
 * First pass: the encoded size of `message` of a {@linkcode compilable}
 * type. {@linkcode writeSized} then writes it; nothing else may encode in
 * between.
 *
 * @throws {Error} {@linkcode DEFER} when protobuf-es must encode it instead.
 */
export function sizeCompiled(desc: DescMessage, message: unknown): number {
  const encoder = encoderOf(desc);
  if (typeof message !== "object" || message === null) throw DEFER;
  sizedEncoder = undefined;
  sizedMessage = undefined;
  sizes.length = 0;
  const size = encoder.size(message as Rec);
  sizedEncoder = encoder;
  sizedMessage = message as Rec;
  sizedSize = size;
  return size;
}

/**
 * Second pass: writes the message last given to {@linkcode sizeCompiled}
 * into `target` at `at` (which must have room for its size).
 *
 * @throws {Error} When no message was sized, or it changed since.
 */
export function writeSized(target: Uint8Array, at: number): void {
  const encoder = sizedEncoder;
  const message = sizedMessage;
  if (encoder === undefined || message === undefined) {
    throw new Error("compiled codec: writeSized() without sizeCompiled()");
  }
  sizedEncoder = undefined;
  sizedMessage = undefined;
  buf = target;
  pos = at;
  cursor = 0;
  try {
    encoder.write(message);
  } finally {
    buf = EMPTY;
  }
  if (pos !== at + sizedSize || cursor !== sizes.length) {
    throw new Error("compiled codec: the message changed while it was encoded");
  }
}

/**
 * Encodes `message` of a {@linkcode compilable} type.
 *
 * @throws {Error} {@linkcode DEFER} when protobuf-es must encode it instead.
 */
export function encodeCompiled(desc: DescMessage, message: unknown): Uint8Array {
  const out = new Uint8Array(sizeCompiled(desc, message));
  writeSized(out, 0);
  return out;
}

const EMPTY = new Uint8Array(0);
