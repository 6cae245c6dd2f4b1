/**
 * The HPACK encoder (RFC 7541): indexes repeated fields in the dynamic
 * table so that a call's headers shrink to a few bytes, and Huffman-codes
 * strings when asked and shorter.
 *
 * @module
 */
import type { OutputBuffer } from "./frame.ts";
import { ENTRY_OVERHEAD, type HeaderList, STATIC_COUNT, staticExact, staticName } from "./hpack.ts";
import { huffmanEncode, huffmanEncodedLength } from "./huffman.ts";

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

/** The encoding of a frozen header list, valid while the table is as it was. */
interface CachedBlock {
  fields: HeaderList;
  inserted: number;
  epoch: number;
  bytes: Uint8Array;
}

/** Frozen header lists whose encodings are remembered. */
const CACHE_SIZE = 4;

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
  #epoch = 0; // Counts table size changes; with #inserted it identifies the table's state.
  #cache: CachedBlock[] = [];
  #cacheNext = 0;

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
    this.#epoch++;
  }

  /**
   * Appends the header block for `fields` to `out`. A frozen list (one a
   * caller reuses for many blocks, such as a method's request headers) whose
   * last encoding changed nothing in the table is copied from that encoding
   * while the table stays the same. `extra` (a call's own fields, such as
   * its `grpc-timeout`) is encoded after `fields`, so a shared frozen list
   * keeps its cached encoding when calls add a field or two.
   */
  encode(fields: HeaderList, out: OutputBuffer, extra?: HeaderList): void {
    this.#encodeBase(fields, out);
    if (extra !== undefined) this.#encode(extra, out);
  }

  #encodeBase(fields: HeaderList, out: OutputBuffer): void {
    if (this.#pendingUpdate === -1 && Object.isFrozen(fields)) {
      for (const cached of this.#cache) {
        if (
          cached.fields === fields && cached.inserted === this.#inserted &&
          cached.epoch === this.#epoch
        ) {
          return out.append(cached.bytes);
        }
      }
      const start = out.length;
      const inserted = this.#inserted;
      this.#encode(fields, out);
      if (this.#inserted === inserted) {
        const entry = {
          fields,
          inserted,
          epoch: this.#epoch,
          bytes: out.buf.slice(start, out.length),
        };
        this.#cache[this.#cacheNext] = entry;
        this.#cacheNext = (this.#cacheNext + 1) % CACHE_SIZE;
      }
      return;
    }
    this.#encode(fields, out);
  }

  #encode(fields: HeaderList, out: OutputBuffer): void {
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
