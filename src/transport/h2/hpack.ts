/**
 * HPACK header compression (RFC 7541): a decoder with the static and
 * dynamic tables and Huffman decoding, and an encoder that indexes
 * repeated fields so that a call's headers shrink to a few bytes.
 *
 * Header lists are flat arrays `[name0, value0, name1, value1, …]` of
 * Latin-1 strings, one character per octet.
 *
 * @module
 */
import { STATIC_TABLE } from "./_hpack_static_table.ts";
import type { OutputBuffer } from "./frame.ts";
import { huffmanDecode, huffmanEncode, huffmanEncodedLength, HuffmanError } from "./huffman.ts";

/** A header list: `[name0, value0, name1, value1, …]`. */
export type HeaderList = string[];

/** Thrown on a malformed header block; the connection ends with COMPRESSION_ERROR. */
export class HpackError extends Error {
  /** @param message What is wrong. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HpackError";
  }
}

/** The HPACK overhead counted per entry in table and header list sizes. */
const ENTRY_OVERHEAD = 32;
const STATIC_COUNT = STATIC_TABLE.length;

const staticExact = new Map<string, number>();
const staticName = new Map<string, number>();
STATIC_TABLE.forEach(([name, value], i) => {
  staticExact.set(`${name}\0${value}`, i + 1);
  if (!staticName.has(name)) staticName.set(name, i + 1);
});

function latin1(bytes: Uint8Array, start: number, end: number): string {
  if (end - start < 64) {
    let s = "";
    for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]!);
    return s;
  }
  let s = "";
  for (let i = start; i < end; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, Math.min(end, i + 4096)));
  }
  return s;
}

/** Decodes header blocks for one connection (one direction). */
export class HpackDecoder {
  #limit: number;
  #capacity: number;
  #size = 0;
  /** Dynamic table, oldest first: `[name, value]`. */
  #entries: [string, string][] = [];
  #data: Uint8Array = new Uint8Array(0);
  #pos = 0;

  /** @param maxTableSize Our SETTINGS_HEADER_TABLE_SIZE: the largest table the peer may use. */
  constructor(maxTableSize = 4096) {
    this.#limit = maxTableSize;
    this.#capacity = maxTableSize;
  }

  /** Current dynamic table size in HPACK units (for tests). */
  get tableSize(): number {
    return this.#size;
  }

  /**
   * Decodes one complete header block.
   *
   * @param block The concatenated HEADERS and CONTINUATION fragments.
   * @param maxListSize Largest header list (RFC 9113 SETTINGS_MAX_HEADER_LIST_SIZE units).
   * @returns The header list, or `null` when it exceeds `maxListSize` (the
   *   block is still fully decoded so the table stays in sync).
   * @throws {HpackError} When the block is malformed.
   */
  decode(block: Uint8Array, maxListSize = Infinity): HeaderList | null {
    this.#data = block;
    this.#pos = 0;
    const list: HeaderList = [];
    let listSize = 0;
    let fieldsSeen = false;
    try {
      while (this.#pos < block.length) {
        const byte = block[this.#pos]!;
        let name: string;
        let value: string;
        if (byte & 0x80) {
          [name, value] = this.#lookup(this.#integer(7));
        } else if ((byte & 0xe0) === 0x20) {
          if (fieldsSeen) throw new HpackError("Table size update after a header field");
          const size = this.#integer(5);
          if (size > this.#limit) throw new HpackError(`Table size ${size} exceeds the limit`);
          this.#capacity = size;
          this.#evict(0);
          continue;
        } else {
          const indexing = (byte & 0xc0) === 0x40;
          const index = this.#integer(indexing ? 6 : 4);
          name = index === 0 ? this.#string() : this.#lookup(index)[0];
          value = this.#string();
          if (indexing) this.#insert(name, value);
        }
        fieldsSeen = true;
        listSize += name.length + value.length + ENTRY_OVERHEAD;
        if (listSize <= maxListSize) list.push(name, value);
      }
    } catch (error) {
      if (error instanceof HuffmanError) throw new HpackError(error.message, { cause: error });
      throw error;
    } finally {
      this.#data = new Uint8Array(0);
    }
    return listSize <= maxListSize ? list : null;
  }

  #integer(prefixBits: number): number {
    const data = this.#data;
    const mask = (1 << prefixBits) - 1;
    let value = data[this.#pos++]! & mask;
    if (value < mask) return value;
    let shift = 0;
    while (true) {
      if (this.#pos >= data.length) throw new HpackError("Truncated integer");
      const b = data[this.#pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
      if (shift > 28) throw new HpackError("Integer too large");
    }
    if (value > 0x7fffffff) throw new HpackError("Integer too large");
    return value;
  }

  #string(): string {
    if (this.#pos >= this.#data.length) throw new HpackError("Truncated string");
    const huffman = (this.#data[this.#pos]! & 0x80) !== 0;
    const length = this.#integer(7);
    const end = this.#pos + length;
    if (end > this.#data.length) throw new HpackError("Truncated string");
    const s = huffman
      ? huffmanDecode(this.#data.subarray(this.#pos, end))
      : latin1(this.#data, this.#pos, end);
    this.#pos = end;
    return s;
  }

  #lookup(index: number): readonly [string, string] {
    if (index === 0) throw new HpackError("Index 0 is invalid");
    if (index <= STATIC_COUNT) return STATIC_TABLE[index - 1]!;
    const entry = this.#entries[this.#entries.length - 1 - (index - STATIC_COUNT - 1)];
    if (entry === undefined) throw new HpackError(`Index ${index} is out of range`);
    return entry;
  }

  #insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    this.#evict(size);
    if (size <= this.#capacity) {
      this.#entries.push([name, value]);
      this.#size += size;
    }
  }

  #evict(room: number): void {
    while (this.#size + room > this.#capacity && this.#entries.length > 0) {
      const [name, value] = this.#entries.shift()!;
      this.#size -= name.length + value.length + ENTRY_OVERHEAD;
    }
  }
}

/** Options for {@linkcode HpackEncoder}. */
export interface HpackEncoderOptions {
  /**
   * Huffman-code strings when that is shorter.
   * @default {false}
   */
  huffman?: boolean;
  /**
   * Index no field into the dynamic table (for tests and minimal state).
   * @default {false}
   */
  noIndexing?: boolean;
}

/** Fields whose values change per call or must not be indexed. */
const NEVER_INDEX = new Set([
  "grpc-timeout",
  "grpc-message",
  "grpc-status-details-bin",
  "authorization",
  "cookie",
  "set-cookie",
]);

interface EncoderEntry {
  name: string;
  value: string;
  size: number;
  seq: number;
}

/** Encodes header lists for one connection (one direction). */
export class HpackEncoder {
  #capacity = 4096;
  #pendingUpdate = -1;
  #size = 0;
  #entries: EncoderEntry[] = [];
  #exact = new Map<string, number>();
  #names = new Map<string, number>();
  #inserted = 0;
  #huffman: boolean;
  #noIndexing: boolean;

  /** @param options Encoding choices. */
  constructor(options: HpackEncoderOptions = {}) {
    this.#huffman = options.huffman ?? false;
    this.#noIndexing = options.noIndexing ?? false;
  }

  /**
   * Applies the peer's SETTINGS_HEADER_TABLE_SIZE (capped at 4096); a change
   * is signalled at the start of the next block.
   */
  setMaxTableSize(size: number): void {
    const next = Math.min(size, 4096);
    if (next === this.#capacity) return;
    this.#capacity = next;
    this.#pendingUpdate = this.#pendingUpdate === -1 ? next : Math.min(this.#pendingUpdate, next);
    this.#evict(0);
  }

  /** Appends the header block for `fields` to `out`. */
  encode(fields: HeaderList, out: OutputBuffer): void {
    if (this.#pendingUpdate !== -1) {
      out.ensure(6);
      this.#integer(out, this.#capacity, 5, 0x20);
      this.#pendingUpdate = -1;
    }
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i]!;
      const value = fields[i + 1]!;
      out.ensure(name.length + value.length + 16);
      const key = `${name}\0${value}`;
      const exact = staticExact.get(key) ?? this.#dynamicIndex(this.#exact.get(key));
      if (exact !== undefined) {
        this.#integer(out, exact, 7, 0x80);
        continue;
      }
      const nameIndex = staticName.get(name) ?? this.#dynamicIndex(this.#names.get(name)) ?? 0;
      const size = name.length + value.length + ENTRY_OVERHEAD;
      const never = NEVER_INDEX.has(name);
      if (!never && !this.#noIndexing && size <= this.#capacity >>> 2) {
        this.#integer(out, nameIndex, 6, 0x40);
        if (nameIndex === 0) this.#string(out, name);
        this.#string(out, value);
        this.#insert(name, value, size, key);
      } else {
        this.#integer(out, nameIndex, 4, never ? 0x10 : 0x00);
        if (nameIndex === 0) this.#string(out, name);
        this.#string(out, value);
      }
    }
  }

  #dynamicIndex(seq: number | undefined): number | undefined {
    if (seq === undefined || this.#entries.length === 0 || seq < this.#entries[0]!.seq) {
      return undefined;
    }
    return STATIC_COUNT + this.#inserted - seq;
  }

  #insert(name: string, value: string, size: number, key: string): void {
    this.#evict(size);
    if (size > this.#capacity) return;
    const seq = this.#inserted++;
    this.#entries.push({ name, value, size, seq });
    this.#size += size;
    this.#exact.set(key, seq);
    this.#names.set(name, seq);
  }

  #evict(room: number): void {
    while (this.#size + room > this.#capacity && this.#entries.length > 0) {
      const old = this.#entries.shift()!;
      this.#size -= old.size;
      const key = `${old.name}\0${old.value}`;
      if (this.#exact.get(key) === old.seq) this.#exact.delete(key);
      if (this.#names.get(old.name) === old.seq) this.#names.delete(old.name);
    }
  }

  #integer(out: OutputBuffer, value: number, prefixBits: number, pattern: number): void {
    const max = (1 << prefixBits) - 1;
    const b = out.buf;
    if (value < max) {
      b[out.length++] = pattern | value;
      return;
    }
    b[out.length++] = pattern | max;
    value -= max;
    while (value >= 128) {
      b[out.length++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    b[out.length++] = value;
  }

  #string(out: OutputBuffer, s: string): void {
    if (this.#huffman) {
      const coded = huffmanEncodedLength(s);
      if (coded < s.length) {
        this.#integer(out, coded, 7, 0x80);
        out.length = huffmanEncode(s, out.buf, out.length);
        return;
      }
    }
    this.#integer(out, s.length, 7, 0);
    const b = out.buf;
    let p = out.length;
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
    out.length = p;
  }
}
