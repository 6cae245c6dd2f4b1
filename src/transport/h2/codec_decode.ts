/**
 * Protobuf binary decoding into protobuf-es messages with decoders
 * compiled (as closures) once per message type. Reads the transport's
 * message bytes in place: `bytes` fields and unknown fields are views of
 * the input, as protobuf-es's `fromBinary` makes them.
 *
 * A decoded message equals `fromBinary`'s for every valid input (same
 * properties in the same order, merged repeated occurrences, last oneof
 * case wins, unknown fields kept). Invalid input — a truncated varint or
 * value, a length past the end of its message, a wrong wire type for a
 * known field, a bad tag, invalid UTF-8 in a string, nesting past 100 —
 * throws {@linkcode CodecError}; nothing here loops without consuming
 * input.
 *
 * @module
 */
import { type DescField, type DescMessage, ScalarType } from "../../npm/protobuf.ts";

/** Input that is not a valid encoding of the expected message type. */
export class CodecError extends Error {
  /** @param message What is wrong with the input. */
  constructor(message: string) {
    super(message);
    this.name = "CodecError";
  }
}

type Rec = Record<string, unknown>;
type FieldDecoder = (m: Rec, wireType: number, depth: number) => void;
interface MessageDecoder {
  /** A fresh message as `create()` makes it, but for `bytes` fields, which hold `PENDING`. */
  blank(): Rec;
  /** Gives `bytes` fields still `PENDING` their own empty array (one per message, as `create()`). */
  settle(m: Rec): void;
  fill(m: Rec, end: number, depth: number): void;
}

const RECURSION_LIMIT = 100;

/**
 * What a fresh message's `bytes` fields hold until decoding ends: an empty
 * array of their own costs more than the rest of a small message's
 * decoding, and most are overwritten.
 */
const PENDING = new Uint8Array(0);

// One decode runs at a time (it is synchronous), over this state.
const r = { buf: new Uint8Array(0) as Uint8Array, pos: 0, limit: 0, lo: 0, hi: 0 };

const f64 = new Float64Array(1);
const f64b = new Uint8Array(f64.buffer);
const f32 = new Float32Array(1);
const f32b = new Uint8Array(f32.buffer);
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function truncated(): never {
  throw new CodecError("truncated input: a value runs past the end of its message");
}

/** Reads a varint of up to 10 bytes into `r.lo`/`r.hi`. */
function readVarint64(): void {
  let l = 0;
  let h = 0;
  let shift = 0;
  for (; shift < 28; shift += 7) {
    if (r.pos >= r.limit) truncated();
    const b = r.buf[r.pos++]!;
    l |= (b & 0x7f) << shift;
    if (b < 0x80) {
      r.lo = l >>> 0;
      r.hi = 0;
      return;
    }
  }
  if (r.pos >= r.limit) truncated();
  let b = r.buf[r.pos++]!;
  l |= (b & 0x0f) << 28;
  h = (b & 0x7f) >> 4;
  if (b >= 0x80) {
    for (shift = 3; shift <= 31; shift += 7) {
      if (r.pos >= r.limit) truncated();
      b = r.buf[r.pos++]!;
      h |= (b & 0x7f) << shift;
      if (b < 0x80) break;
      if (shift === 31) throw new CodecError("invalid varint: longer than 10 bytes");
    }
  }
  r.lo = l >>> 0;
  r.hi = h >>> 0;
}

/** Reads a varint and returns its low 32 bits, unsigned. */
function readVarint32(): number {
  if (r.pos < r.limit) {
    const b = r.buf[r.pos]!;
    if (b < 0x80) {
      r.pos++;
      return b;
    }
  }
  readVarint64();
  return r.lo;
}

/** Reads a field tag: a varint that must fit 32 bits. */
function readTag(): number {
  if (r.pos < r.limit) {
    const b = r.buf[r.pos]!;
    if (b < 0x80) {
      r.pos++;
      return b;
    }
  }
  readVarint64();
  if (r.hi !== 0) throw new CodecError("invalid tag: varint overflows 32 bits");
  return r.lo;
}

function readLength(): number {
  readVarint64();
  if (r.hi !== 0 || r.lo > r.limit - r.pos) {
    throw new CodecError("invalid length: past the end of its message");
  }
  return r.lo;
}

function readFixed32(): number {
  if (r.limit - r.pos < 4) truncated();
  const v =
    (r.buf[r.pos]! | r.buf[r.pos + 1]! << 8 | r.buf[r.pos + 2]! << 16 | r.buf[r.pos + 3]! << 24) >>>
    0;
  r.pos += 4;
  return v;
}

function int64Value(signed: boolean): bigint {
  if (r.hi === 0) return BigInt(r.lo);
  if (signed && r.hi === 0xffffffff && r.lo >= 0x80000000) return BigInt(r.lo | 0);
  const u = (BigInt(r.hi) << 32n) | BigInt(r.lo);
  return signed ? BigInt.asIntN(64, u) : u;
}

function unzigzag64(): void {
  const sign = -(r.lo & 1);
  r.lo = (((r.lo >>> 1) | (r.hi << 31)) ^ sign) >>> 0;
  r.hi = ((r.hi >>> 1) ^ sign) >>> 0;
}

function readString(): string {
  const n = readLength();
  const start = r.pos;
  r.pos += n;
  if (n <= 64) {
    let ascii = true;
    for (let i = start; i < r.pos; i++) {
      if (r.buf[i]! > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, r.buf.subarray(start, r.pos) as never);
  }
  try {
    return strict.decode(r.buf.subarray(start, r.pos));
  } catch {
    throw new CodecError("invalid UTF-8 in a string field");
  }
}

/** Wire type of a scalar type's non-packed encoding. */
function wireTypeOf(type: ScalarType): number {
  switch (type) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return 2;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return 1;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return 5;
    default:
      return 0;
  }
}

function scalarReader(type: ScalarType, longAsString: boolean): () => unknown {
  const long = (signed: boolean) =>
    longAsString ? () => String(int64Value(signed)) : () => int64Value(signed);
  switch (type) {
    case ScalarType.STRING:
      return readString;
    case ScalarType.BYTES:
      return () => {
        const n = readLength();
        r.pos += n;
        return r.buf.subarray(r.pos - n, r.pos);
      };
    case ScalarType.BOOL:
      return () => {
        readVarint64();
        return (r.lo | r.hi) !== 0;
      };
    case ScalarType.INT32:
      return () => readVarint32() | 0;
    case ScalarType.UINT32:
      return readVarint32;
    case ScalarType.SINT32:
      return () => {
        const n = readVarint32();
        return (n >>> 1) ^ -(n & 1);
      };
    case ScalarType.FIXED32:
      return readFixed32;
    case ScalarType.SFIXED32:
      return () => readFixed32() | 0;
    case ScalarType.FLOAT:
      return () => {
        if (r.limit - r.pos < 4) truncated();
        for (let i = 0; i < 4; i++) f32b[i] = r.buf[r.pos++]!;
        return f32[0];
      };
    case ScalarType.DOUBLE:
      return () => {
        if (r.limit - r.pos < 8) truncated();
        for (let i = 0; i < 8; i++) f64b[i] = r.buf[r.pos++]!;
        return f64[0];
      };
    case ScalarType.INT64: {
      const value = long(true);
      return () => {
        readVarint64();
        return value();
      };
    }
    case ScalarType.UINT64: {
      const value = long(false);
      return () => {
        readVarint64();
        return value();
      };
    }
    case ScalarType.SINT64: {
      const value = long(true);
      return () => {
        readVarint64();
        unzigzag64();
        return value();
      };
    }
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64: {
      const value = long(type === ScalarType.SFIXED64);
      return () => {
        r.lo = readFixed32();
        r.hi = readFixed32();
        return value();
      };
    }
  }
}

function wrongWireType(field: DescField, wireType: number): never {
  throw new CodecError(
    `wrong wire type ${wireType} for field ${field.parent.typeName}.${field.name}`,
  );
}

function setOwn(record: Rec, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(record, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  } else record[key] = value;
}

/** Decodes a length-delimited child message into `child` (fresh or merged into). */
function readChild(decoder: MessageDecoder, child: Rec, depth: number): Rec {
  const n = readLength();
  const saved = r.limit;
  const end = r.pos + n;
  r.limit = end;
  decoder.fill(child, end, depth + 1);
  r.limit = saved;
  return child;
}

function fieldDecoder(field: DescField): FieldDecoder {
  const name = field.localName;
  switch (field.fieldKind) {
    case "scalar":
    case "enum": {
      const type = field.fieldKind === "enum" ? ScalarType.INT32 : field.scalar;
      const read = scalarReader(type, field.fieldKind === "scalar" && field.longAsString);
      const wt = wireTypeOf(type);
      if (field.oneof !== undefined) {
        const group = field.oneof.localName;
        return (m, wireType) => {
          if (wireType !== wt) wrongWireType(field, wireType);
          m[group] = { case: name, value: read() };
        };
      }
      return (m, wireType) => {
        if (wireType !== wt) wrongWireType(field, wireType);
        m[name] = read();
      };
    }
    case "message": {
      const decoder = decoderOf(field.message);
      if (field.oneof !== undefined) {
        const group = field.oneof.localName;
        return (m, wireType, depth) => {
          if (wireType !== 2) wrongWireType(field, wireType);
          const o = m[group] as { case: unknown; value: Rec };
          const child = o.case === name ? o.value : decoder.blank();
          m[group] = { case: name, value: readChild(decoder, child, depth) };
        };
      }
      return (m, wireType, depth) => {
        if (wireType !== 2) wrongWireType(field, wireType);
        const existing = m[name] as Rec | undefined;
        m[name] = readChild(decoder, existing ?? decoder.blank(), depth);
      };
    }
    case "list": {
      if (field.listKind === "message") {
        const decoder = decoderOf(field.message);
        return (m, wireType, depth) => {
          if (wireType !== 2) wrongWireType(field, wireType);
          (m[name] as unknown[]).push(readChild(decoder, decoder.blank(), depth));
        };
      }
      const type = field.listKind === "enum" ? ScalarType.INT32 : field.scalar;
      const read = scalarReader(type, field.listKind === "scalar" && field.longAsString);
      const wt = wireTypeOf(type);
      const packable = wt !== 2;
      return (m, wireType) => {
        const list = m[name] as unknown[];
        if (wireType === wt) list.push(read());
        else if (wireType === 2 && packable) {
          const n = readLength();
          const saved = r.limit;
          r.limit = r.pos + n;
          while (r.pos < r.limit) list.push(read());
          r.limit = saved;
        } else wrongWireType(field, wireType);
      };
    }
    case "map":
      return mapDecoder(field);
  }
}

function mapDecoder(field: DescField & { fieldKind: "map" }): FieldDecoder {
  const name = field.localName;
  const keyType = field.mapKey;
  const readKey = scalarReader(keyType, false);
  const keyWireType = wireTypeOf(keyType);
  const keyZero = keyType === ScalarType.STRING ? "" : keyType === ScalarType.BOOL ? "false" : "0";
  let readValue: (existing: unknown, depth: number) => unknown;
  let valueZero: () => unknown;
  let valueWireType: number;
  if (field.mapKind === "message") {
    const decoder = decoderOf(field.message);
    valueWireType = 2;
    readValue = (existing, depth) =>
      readChild(decoder, (existing as Rec | undefined) ?? decoder.blank(), depth);
    valueZero = () => {
      const m = decoder.blank();
      decoder.settle(m);
      return m;
    };
  } else {
    const type = field.mapKind === "enum" ? ScalarType.INT32 : field.scalar;
    const read = scalarReader(type, false);
    valueWireType = wireTypeOf(type);
    readValue = read;
    const zero = field.mapKind === "enum" ? field.enum.values[0]!.number : zeroOf(type, false);
    valueZero = type === ScalarType.BYTES ? () => new Uint8Array(0) : () => zero;
  }
  return (m, wireType, depth) => {
    if (wireType !== 2) wrongWireType(field, wireType);
    const n = readLength();
    const saved = r.limit;
    r.limit = r.pos + n;
    let key: unknown;
    let value: unknown;
    while (r.pos < r.limit) {
      const tag = readTag();
      const no = tag >>> 3;
      const wt = tag & 7;
      // a key or value of the wrong wire type is an error, as for any known field
      // (protobuf-es would read it as the declared type)
      if (no === 1) {
        if (wt !== keyWireType) wrongWireType(field, wt);
        key = readKey();
      } else if (no === 2) {
        if (wt !== valueWireType) wrongWireType(field, wt);
        value = readValue(value, depth);
      } else skipField(no, wt, depth);
    }
    r.limit = saved;
    setOwn(m[name] as Rec, key === undefined ? keyZero : String(key), value ?? valueZero());
  };
}

function zeroOf(type: ScalarType, longAsString: boolean): unknown {
  switch (type) {
    case ScalarType.STRING:
      return "";
    case ScalarType.BOOL:
      return false;
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return longAsString ? "0" : 0n;
    default:
      return 0;
  }
}

/** Skips one field's value (groups included, nested up to the recursion r.limit). */
function skipField(no: number, wireType: number, depth: number): void {
  if (no < 1) throw new CodecError(`invalid tag: field number ${no}`);
  switch (wireType) {
    case 0:
      readVarint64();
      return;
    case 1:
      if (r.limit - r.pos < 8) truncated();
      r.pos += 8;
      return;
    case 2: {
      const n = readLength(); // Not `pos += readLength()`: that reads pos before the call.
      r.pos += n;
      return;
    }
    case 5:
      if (r.limit - r.pos < 4) truncated();
      r.pos += 4;
      return;
    case 3: {
      if (depth >= RECURSION_LIMIT) throw new CodecError("nesting deeper than 100");
      for (;;) {
        if (r.pos >= r.limit) truncated();
        const tag = readTag();
        if ((tag & 7) === 4) {
          if (tag >>> 3 !== no) throw new CodecError("invalid end group tag");
          return;
        }
        skipField(tag >>> 3, tag & 7, depth + 1);
      }
    }
    default:
      throw new CodecError(`invalid wire type ${wireType} for field number ${no}`);
  }
}

/** How `create()` initialises one property of a fresh message. */
interface Init {
  name: string;
  make: () => unknown;
}

function constant(value: unknown): () => unknown {
  return () => value;
}

function blankMaker(desc: DescMessage): () => Rec {
  const typeName = desc.typeName;
  const inits: Init[] = [];
  for (const member of desc.members) {
    const name = member.localName;
    if (member.kind === "oneof") {
      inits.push({ name, make: () => ({ case: undefined }) });
      continue;
    }
    switch (member.fieldKind) {
      case "message":
        break; // Absent from a fresh message.
      case "list":
        inits.push({ name, make: () => [] });
        break;
      case "map":
        inits.push({ name, make: () => ({}) });
        break;
      case "enum":
        if (member.presence === 2) {
          inits.push({ name, make: constant(member.enum.values[0]!.number) });
        }
        break;
      case "scalar":
        if (member.presence !== 2) break;
        if (member.scalar === ScalarType.BYTES) inits.push({ name, make: constant(PENDING) });
        else inits.push({ name, make: constant(zeroOf(member.scalar, member.longAsString)) });
        break;
    }
  }
  return () => {
    const m: Rec = { $typeName: typeName };
    for (let i = 0; i < inits.length; i++) {
      const init = inits[i]!;
      m[init.name] = init.make();
    }
    return m;
  };
}

const decoders = new WeakMap<DescMessage, MessageDecoder>();

function decoderOf(desc: DescMessage): MessageDecoder {
  const known = decoders.get(desc);
  if (known !== undefined) return known;
  const byNumber = new Map<number, FieldDecoder>();
  const bytesFields = desc.fields.filter((f) =>
    f.fieldKind === "scalar" && f.scalar === ScalarType.BYTES && f.presence === 2 &&
    f.oneof === undefined
  ).map((f) => f.localName);
  const decoder: MessageDecoder = {
    blank: blankMaker(desc),
    settle(m) {
      for (let i = 0; i < bytesFields.length; i++) {
        const name = bytesFields[i]!;
        if (m[name] === PENDING) m[name] = new Uint8Array(0);
      }
    },
    fill(m, end, depth) {
      if (depth > RECURSION_LIMIT) throw new CodecError("nesting deeper than 100");
      let unknown = m.$unknown as { no: number; wireType: number; data: Uint8Array }[] | undefined;
      while (r.pos < end) {
        const tag = readTag();
        const no = tag >>> 3;
        const wireType = tag & 7;
        const read = byNumber.get(no);
        if (read !== undefined && no > 0) {
          read(m, wireType, depth);
          continue;
        }
        const start = r.pos;
        skipField(no, wireType, depth);
        (unknown ??= []).push({ no, wireType, data: r.buf.subarray(start, r.pos) });
      }
      if (unknown !== undefined && unknown.length > 0) m.$unknown = unknown;
      if (bytesFields.length > 0) decoder.settle(m);
    },
  };
  decoders.set(desc, decoder); // Before compiling fields: recursive types find it.
  for (const field of desc.fields) byNumber.set(field.number, fieldDecoder(field));
  return decoder;
}

/**
 * Decodes `bytes` as a message of a {@linkcode compilable} type.
 *
 * @throws {CodecError} When `bytes` is not a valid encoding.
 */
export function decodeCompiled(desc: DescMessage, bytes: Uint8Array): Rec {
  const decoder = decoderOf(desc);
  const m = decoder.blank();
  r.buf = bytes;
  r.pos = 0;
  r.limit = bytes.length;
  try {
    decoder.fill(m, r.limit, 1);
  } finally {
    r.buf = EMPTY;
  }
  return m;
}

const EMPTY = new Uint8Array(0);
