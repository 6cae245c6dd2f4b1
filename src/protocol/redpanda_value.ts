/**
 * Conversions between Redpanda Connect's dynamic `Value` and plain
 * JavaScript values. Part of the wire contract, shared by the pipeline host
 * (`src/pipeline/`) and the batch SDK (`src/plugin/`), which import nothing
 * of each other.
 *
 * @module
 */
import { create, type JsonValue } from "../npm/protobuf.ts";
import { timestampDate, timestampFromDate } from "../npm/protobuf_wkt.ts";
import {
  ListValueSchema,
  StructValueSchema,
  type Value,
  ValueSchema,
} from "../gen/redpanda/runtime/v1alpha1/message_pb.ts";

/** A JavaScript value a `Value` maps to. */
export type PlainValue =
  | null
  | string
  | number
  | bigint
  | boolean
  | Date
  | Uint8Array
  | PlainValue[]
  | { [key: string]: PlainValue };

/** Converts a `Value` to a plain value (int64 that fits becomes a number). */
export function fromValue(value: Value | undefined): PlainValue {
  if (!value) return null;
  const kind = value.kind;
  switch (kind.case) {
    case undefined:
    case "nullValue":
      return null;
    case "integerValue": {
      const n = kind.value;
      return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(n)
        : n;
    }
    case "timestampValue":
      return timestampDate(kind.value);
    case "structValue":
      return fromFields(kind.value.fields);
    case "listValue":
      return kind.value.values.map(fromValue);
    default:
      return kind.value;
  }
}

/** Converts a map of `Value`s to a plain object. */
export function fromFields(fields: Record<string, Value>): { [key: string]: PlainValue } {
  const out: { [key: string]: PlainValue } = {};
  for (const [key, value] of Object.entries(fields)) out[key] = fromValue(value);
  return out;
}

/** Converts a plain value to a `Value` (whole numbers become integers). */
export function toValue(value: PlainValue | undefined | JsonValue): Value {
  if (value === null || value === undefined) {
    return create(ValueSchema, { kind: { case: "nullValue", value: 0 } });
  }
  if (typeof value === "string") {
    return create(ValueSchema, { kind: { case: "stringValue", value } });
  }
  if (typeof value === "bigint") {
    return create(ValueSchema, { kind: { case: "integerValue", value } });
  }
  if (typeof value === "number") {
    return Number.isSafeInteger(value)
      ? create(ValueSchema, { kind: { case: "integerValue", value: BigInt(value) } })
      : create(ValueSchema, { kind: { case: "doubleValue", value } });
  }
  if (typeof value === "boolean") {
    return create(ValueSchema, { kind: { case: "boolValue", value } });
  }
  if (value instanceof Date) {
    return create(ValueSchema, {
      kind: { case: "timestampValue", value: timestampFromDate(value) },
    });
  }
  if (value instanceof Uint8Array) {
    return create(ValueSchema, { kind: { case: "bytesValue", value } });
  }
  if (Array.isArray(value)) {
    return create(ValueSchema, {
      kind: { case: "listValue", value: create(ListValueSchema, { values: value.map(toValue) }) },
    });
  }
  const fields: Record<string, Value> = {};
  for (const [key, item] of Object.entries(value)) fields[key] = toValue(item);
  return create(ValueSchema, {
    kind: { case: "structValue", value: create(StructValueSchema, { fields }) },
  });
}
