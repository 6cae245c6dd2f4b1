/**
 * How the native transport turns messages into bytes and back. Messages
 * are always protobuf-es messages; the `compiled` codec encodes and decodes
 * them with per-type functions built from their descriptors
 * (`codec_encode.ts`, `codec_decode.ts`) and hands every type it does not
 * cover (`codec_support.ts`: proto2, editions, wrapper fields) to
 * protobuf-es, as it does a message holding a value protobuf-es would
 * reject or coerce (so the error is protobuf-es's). The `protobuf-es` codec
 * uses `toBinary`/`fromBinary` for everything.
 *
 * @module
 */
import { type DescMessage, fromBinary, type MessageShape, toBinary } from "../../npm/protobuf.ts";
import { compilable } from "./codec_support.ts";
import { DEFER, encodeCompiled, sizeCompiled, writeSized } from "./codec_encode.ts";
import { decodeCompiled } from "./codec_decode.ts";

/**
 * Which message codec a transport uses: `"compiled"` (the default) or
 * `"protobuf-es"` (protobuf-es's `toBinary`/`fromBinary`, e.g. to rule the
 * compiled codec out when chasing a bug). Both write the same bytes.
 */
export type CodecName = "compiled" | "protobuf-es";

/** Encodes and decodes protobuf-es messages. */
export interface MessageCodec {
  /** The message's wire encoding. */
  encode<D extends DescMessage>(schema: D, message: MessageShape<D>): Uint8Array;
  /**
   * The message `bytes` encode.
   * @throws {Error} When `bytes` is not a valid encoding of `schema`.
   */
  decode<D extends DescMessage>(schema: D, bytes: Uint8Array): MessageShape<D>;
  /**
   * Sizes `message` so that {@linkcode MessageCodec.writePrepared} can
   * write it straight into an output buffer; `undefined` when this codec
   * cannot (then use `encode`).
   */
  prepare<D extends DescMessage>(schema: D, message: MessageShape<D>): number | undefined;
  /**
   * Writes the message last prepared into `buf` at `pos`; must follow
   * `prepare` with no other encoding in between.
   */
  writePrepared(buf: Uint8Array, pos: number): void;
}

const protobufEs: MessageCodec = {
  encode: (schema, message) => toBinary(schema, message),
  decode: (schema, bytes) => fromBinary(schema, bytes),
  prepare: () => undefined,
  writePrepared() {
    throw new Error("the protobuf-es codec prepares nothing");
  },
};

const compiled: MessageCodec = {
  encode(schema, message) {
    if (!compilable(schema)) return toBinary(schema, message);
    try {
      return encodeCompiled(schema, message);
    } catch (error) {
      if (error !== DEFER) throw error;
      return toBinary(schema, message);
    }
  },
  decode(schema, bytes) {
    if (!compilable(schema)) return fromBinary(schema, bytes);
    return decodeCompiled(schema, bytes) as MessageShape<typeof schema>;
  },
  prepare(schema, message) {
    if (!compilable(schema)) return undefined;
    try {
      return sizeCompiled(schema, message);
    } catch (error) {
      if (error !== DEFER) throw error;
      return undefined;
    }
  },
  writePrepared: writeSized,
};

/** The codec called `name` (`"compiled"` when undefined). */
export function codecFor(name: CodecName | undefined): MessageCodec {
  if (name === undefined || name === "compiled") return compiled;
  if (name === "protobuf-es") return protobufEs;
  throw new TypeError(`Cannot use codec "${name}": expected "compiled" or "protobuf-es"`);
}
