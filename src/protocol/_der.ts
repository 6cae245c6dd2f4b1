/**
 * Just enough DER (ITU-T X.690) to write one self-signed X.509 certificate:
 * definite-length TLV encoding of the few types a certificate uses.
 * Internal to `src/host/`.
 *
 * @module
 */

/** One encoded DER element. */
export type Der = Uint8Array<ArrayBuffer>;

function length(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

/** An element with tag `tag` around `content`. */
export function tlv(tag: number, ...content: Uint8Array[]): Der {
  const size = content.reduce((sum, part) => sum + part.length, 0);
  const head = [tag, ...length(size)];
  const out = new Uint8Array(head.length + size);
  out.set(head);
  let at = head.length;
  for (const part of content) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** SEQUENCE. */
export const sequence = (...items: Der[]): Der => tlv(0x30, ...items);

/** SET. */
export const set = (...items: Der[]): Der => tlv(0x31, ...items);

/** A context-specific constructed (EXPLICIT) tag `[n]`. */
export const explicit = (n: number, item: Der): Der => tlv(0xa0 | n, item);

/** OCTET STRING. */
export const octets = (bytes: Uint8Array): Der => tlv(0x04, bytes);

/** BIT STRING with no unused bits. */
export const bits = (bytes: Uint8Array): Der => tlv(0x03, Uint8Array.of(0), bytes);

/** UTF8String. */
export const utf8 = (text: string): Der => tlv(0x0c, new TextEncoder().encode(text));

/** BOOLEAN. */
export const boolean = (value: boolean): Der => tlv(0x01, Uint8Array.of(value ? 0xff : 0));

/** A non-negative INTEGER from big-endian magnitude bytes. */
export function unsigned(magnitude: Uint8Array): Der {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  return tlv(0x02, trimmed[0]! & 0x80 ? Uint8Array.of(0, ...trimmed) : trimmed);
}

/** A small INTEGER. */
export const integer = (n: number): Der => unsigned(Uint8Array.of(n));

/** OBJECT IDENTIFIER from dotted text. */
export function oid(dotted: string): Der {
  const arcs = dotted.split(".").map(Number);
  const out = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) {
      chunk.unshift(0x80 | (v & 0x7f));
    }
    out.push(...chunk);
  }
  return tlv(0x06, Uint8Array.from(out));
}

/** A time as X.509 wants it (RFC 5280 §4.1.2.5): UTCTime until 2049, then GeneralizedTime. */
export function time(date: Date): Der {
  const full = date.toISOString().replace(/[-:T]/g, "").replace(/\.\d+/, "");
  const utc = date.getUTCFullYear() < 2050;
  return tlv(utc ? 0x17 : 0x18, new TextEncoder().encode(utc ? full.slice(2) : full));
}
