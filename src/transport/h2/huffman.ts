/**
 * HPACK's static Huffman code (RFC 7541, section 5.2 and Appendix B):
 * decoding with padding validation, and encoding.
 *
 * @module
 */
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from "./_huffman_table.ts";

const EOS = 256;

/**
 * The code as a binary tree: node `n` has children `tree[2n]` (bit 0) and
 * `tree[2n + 1]` (bit 1); a child `c > 0` is another node, `c < 0` is the
 * leaf for symbol `-c - 1`.
 */
const tree: Int32Array = buildTree();

function buildTree(): Int32Array {
  const nodes = new Int32Array(2 * 512);
  let count = 1;
  for (let symbol = 0; symbol <= EOS; symbol++) {
    const code = HUFFMAN_CODES[symbol]!;
    const length = HUFFMAN_LENGTHS[symbol]!;
    let node = 0;
    for (let bit = length - 1; bit > 0; bit--) {
      const slot = 2 * node + ((code >>> bit) & 1);
      if (nodes[slot] === 0) nodes[slot] = count++;
      node = nodes[slot]!;
    }
    nodes[2 * node + (code & 1)] = -symbol - 1;
  }
  return nodes;
}

/** Thrown when Huffman-coded bytes are malformed. */
export class HuffmanError extends Error {
  /** @param message What is wrong. */
  constructor(message: string) {
    super(message);
    this.name = "HuffmanError";
  }
}

/**
 * Decodes a Huffman-coded string into a Latin-1 string.
 *
 * @param bytes The coded bytes.
 * @returns The decoded string, one character per octet.
 * @throws {HuffmanError} On EOS in the data or padding longer than 7 bits or not all ones.
 */
export function huffmanDecode(bytes: Uint8Array): string {
  let out = "";
  let node = 0;
  let depth = 0;
  let ones = true;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >>> bit) & 1;
      const next = tree[2 * node + b]!;
      if (next < 0) {
        const symbol = -next - 1;
        if (symbol === EOS) throw new HuffmanError("Huffman data contains EOS");
        out += String.fromCharCode(symbol);
        node = 0;
        depth = 0;
        ones = true;
      } else {
        node = next;
        depth++;
        if (b === 0) ones = false;
      }
    }
  }
  if (depth > 7 || !ones) throw new HuffmanError("Invalid Huffman padding");
  return out;
}

/** Returns the Huffman-coded length in bytes of a Latin-1 string. */
export function huffmanEncodedLength(text: string): number {
  let bits = 0;
  for (let i = 0; i < text.length; i++) bits += HUFFMAN_LENGTHS[text.charCodeAt(i) & 0xff]!;
  return (bits + 7) >>> 3;
}

/**
 * Huffman-codes a Latin-1 string into `out` at `offset`, padding with ones.
 *
 * @returns The offset after the last byte written.
 */
export function huffmanEncode(text: string, out: Uint8Array, offset: number): number {
  let acc = 0;
  let bits = 0;
  let p = offset;
  for (let i = 0; i < text.length; i++) {
    const symbol = text.charCodeAt(i) & 0xff;
    let length = HUFFMAN_LENGTHS[symbol]!;
    const code = HUFFMAN_CODES[symbol]!;
    while (length > 0) {
      const take = Math.min(length, 8 - bits);
      const chunk = (code >>> (length - take)) & ((1 << take) - 1);
      acc = (acc << take) | chunk;
      bits += take;
      length -= take;
      if (bits === 8) {
        out[p++] = acc;
        acc = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) out[p++] = (acc << (8 - bits)) | ((1 << (8 - bits)) - 1);
  return p;
}
