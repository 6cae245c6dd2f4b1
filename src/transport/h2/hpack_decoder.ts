/**
 * The HPACK decoder (RFC 7541): static and dynamic tables, Huffman
 * decoding, and a bound on the decoded header list size.
 *
 * @module
 */
import { STATIC_TABLE } from "./_hpack_static_table.ts";
import { ENTRY_OVERHEAD, type HeaderList, HpackError, STATIC_COUNT } from "./hpack.ts";
import { huffmanDecode, HuffmanError } from "./huffman.ts";

const EMPTY = new Uint8Array(0);

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
  #data: Uint8Array = EMPTY;
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
      this.#data = EMPTY;
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
