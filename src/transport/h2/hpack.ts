/**
 * HPACK header compression (RFC 7541): what the decoder
 * ({@linkcode HpackDecoder} in `hpack_decoder.ts`) and the encoder
 * ({@linkcode HpackEncoder} in `hpack_encoder.ts`) share — the header list
 * type, the error, the static table's lookups and the entry overhead.
 *
 * Header lists are flat arrays `[name0, value0, name1, value1, …]` of
 * Latin-1 strings, one character per octet.
 *
 * @module
 */
import { STATIC_TABLE } from "./_hpack_static_table.ts";

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
export const ENTRY_OVERHEAD = 32;
/** Entries in the static table; dynamic indices start after it. */
export const STATIC_COUNT: number = STATIC_TABLE.length;

/** Static table index of each `name\0value`. */
export const staticExact: Map<string, number> = new Map();
/** Static table index of the first entry with each name. */
export const staticName: Map<string, number> = new Map();
STATIC_TABLE.forEach(([name, value], i) => {
  staticExact.set(`${name}\0${value}`, i + 1);
  if (!staticName.has(name)) staticName.set(name, i + 1);
});
