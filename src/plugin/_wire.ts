/**
 * {@linkcode BatchMessage} to and from Redpanda Connect's wire `Message`.
 * Internal to `src/plugin/`.
 *
 * @module
 */
import { explainPermissionDenial } from "../transport/handler_error.ts";
import { create } from "../npm/protobuf.ts";
import {
  type Error as WireError,
  ErrorSchema,
  type Message,
  MessageSchema,
  StructValueSchema,
} from "../gen/redpanda/runtime/v1alpha1/message_pb.ts";
import { fromFields, fromValue, toValue } from "../protocol/redpanda_value.ts";
import { BatchMessage } from "./batch_message.ts";

/** How a wire error that is a sandbox denial starts. */
export const PERMISSION_DENIED_PREFIX = "PERMISSION_DENIED: ";

/**
 * The wire `Error` for a thrown value: its message, or `fallback` when it
 * has none; a denial by Deno's sandbox says what to grant.
 */
export function failure(error: unknown, fallback = "failed"): WireError {
  // the wire error has only a message: a sandbox denial is marked by its prefix
  const denial = explainPermissionDenial(error);
  const message = denial !== undefined
    ? `${PERMISSION_DENIED_PREFIX}${denial}`
    : error instanceof Error
    ? error.message
    : String(error);
  return create(ErrorSchema, { message: message || fallback });
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads a message off the wire (a structured payload becomes its JSON text). */
export function fromProto(message: Message): BatchMessage {
  const payload = message.payload;
  const bytes = payload.case === "bytes"
    ? payload.value
    : payload.case === "structured"
    ? encoder.encode(JSON.stringify(fromValue(payload.value), jsonSafe))
    : new Uint8Array();
  const out = new BatchMessage(bytes, fromFields(message.metadata?.fields ?? {}));
  if (message.error?.message) out.error = message.error.message;
  return out;
}

/** Writes a message for the wire. */
export function toProto(message: BatchMessage): Message {
  const fields: Record<string, ReturnType<typeof toValue>> = {};
  for (const [key, value] of Object.entries(message.metadata)) fields[key] = toValue(value);
  return create(MessageSchema, {
    payload: { case: "bytes", value: message.bytes },
    ...(Object.keys(fields).length > 0 ? { metadata: create(StructValueSchema, { fields }) } : {}),
    ...(message.error ? { error: create(ErrorSchema, { message: message.error }) } : {}),
  });
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return decoder.decode(value);
  return value;
}
