/**
 * Which message types the compiled codec (`codec_encode.ts`,
 * `codec_decode.ts`) handles itself; every other type goes to protobuf-es.
 *
 * Compiled: messages of proto3 files whose fields (and every message type
 * they reach) are scalars, open enums, length-delimited messages, repeated
 * fields (packed or not) and maps, with oneofs, `optional` and unknown
 * fields (kept byte-exact, which also carries extensions). Left to
 * protobuf-es: proto2 and editions files (closed enums, default values on a
 * prototype, required fields, groups, per-field features), and the
 * `google.protobuf` wrapper types, which protobuf-es unboxes into plain
 * values when they are a field's type.
 *
 * @module
 */
import type { DescField, DescMessage } from "../../npm/protobuf.ts";

/** `Edition.EDITION_PROTO3`. */
const EDITION_PROTO3 = 999;

const WRAPPERS = new Set([
  "google.protobuf.DoubleValue",
  "google.protobuf.FloatValue",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.BoolValue",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
]);

const verdicts = new WeakMap<DescMessage, boolean>();

/** True when the compiled codec encodes and decodes `desc` (and all it reaches) itself. */
export function compilable(desc: DescMessage): boolean {
  const known = verdicts.get(desc);
  if (known !== undefined) return known;
  verdicts.set(desc, true); // Assumed while visiting, so recursive types terminate.
  const ok = desc.file.edition === EDITION_PROTO3 && desc.fields.every(fieldCompilable);
  verdicts.set(desc, ok);
  return ok;
}

function fieldCompilable(field: DescField): boolean {
  const enumDesc = field.fieldKind === "enum"
    ? field.enum
    : field.fieldKind === "list" && field.listKind === "enum"
    ? field.enum
    : field.fieldKind === "map" && field.mapKind === "enum"
    ? field.enum
    : undefined;
  if (enumDesc !== undefined && !enumDesc.open) return false;
  let message: DescMessage | undefined;
  let delimited = false;
  if (field.fieldKind === "message") {
    message = field.message;
    delimited = field.delimitedEncoding;
  } else if (field.fieldKind === "list" && field.listKind === "message") {
    message = field.message;
    delimited = field.delimitedEncoding;
  } else if (field.fieldKind === "map" && field.mapKind === "message") message = field.message;
  if (message === undefined) return true;
  return !delimited && !WRAPPERS.has(message.typeName) && compilable(message);
}
