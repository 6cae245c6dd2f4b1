/**
 * What a processor stage makes of one call: the shapes of an attempt's
 * outcome, a message's size on the wire, and the reading of an answer
 * against the response budget. Internal to `src/pipeline/`.
 *
 * @module
 */
import { create, fromBinary, toBinary } from "../npm/protobuf.ts";
import {
  type Message,
  MessageBatchSchema,
  MessageSchema,
} from "../gen/redpanda/runtime/v1alpha1/message_pb.ts";
import type { DeadLetter, StageResult } from "./processor_stage.ts";
import { type ResponseBudget, weighBatches } from "./response_budget.ts";

/**
 * How a call failed: `crash` (the plugin died or hung), `fault` (its answer
 * was over the response budget or malformed), `error` (it reported an
 * error), `too-large` (request or answer over `max_message_bytes`).
 */
export interface Failure {
  ok: false;
  kind: "crash" | "fault" | "error" | "too-large";
  reason: string;
}

export type Attempt = { ok: true; messages: Message[]; dead: DeadLetter[] } | Failure;

/** Room for a message's framing inside a request (tags and lengths). */
export const ENVELOPE_BYTES = 32;

/** A message's size on the wire. */
export function encodedSize(message: Message): number {
  if (message.payload.case === "bytes" && message.metadata === undefined) {
    return message.payload.value.length;
  }
  return toBinary(MessageSchema, message).length;
}

/** Counts what a stage filtered out of one batch. */
export function filteredOut(given: number, result: StageResult): number {
  return Math.max(0, given - result.messages.length - result.dead.length);
}

/**
 * Reads a processor's answer: its batches, weighed against the response
 * budget before they are decoded, then its messages, those it flagged
 * (`Message.error`) set apart as dead letters.
 *
 * @param batches The answer's batches, encoded.
 * @param given How many messages the plugin was given.
 * @param budget The plugin's response budget.
 * @param stage The stage's name, for dead letters.
 * @returns The messages and dead letters, or a fault with its reason.
 */
export function readAnswer(
  batches: readonly Uint8Array[],
  given: number,
  budget: ResponseBudget,
  stage: string,
): Attempt {
  const max = given * budget.messagesPerMessage;
  const weight = weighBatches(batches, max, budget.bytes);
  const asked = `${given} message${given === 1 ? "" : "s"}`;
  if (!weight.ok) {
    const reason = weight.over === "messages"
      ? `answered ${asked} with ${weight.messages} messages, over its response budget of ` +
        `${max} (response_budget.messages_per_message: ${budget.messagesPerMessage})`
      : weight.over === "bytes"
      ? `answered ${asked} with ${weight.messages} messages taking over ${budget.bytes} ` +
        `bytes decoded, over its response budget (response_budget.bytes)`
      : `answered ${asked} with a malformed batch (${weight.detail})`;
    return { ok: false, kind: "fault", reason };
  }
  const out: Message[] = [];
  const dead: DeadLetter[] = [];
  for (const encoded of batches) {
    let batch;
    try {
      batch = fromBinary(MessageBatchSchema, encoded);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      return { ok: false, kind: "fault", reason: `answered with a malformed batch (${detail})` };
    }
    for (const message of batch.messages) {
      if (message.error?.message) {
        dead.push({
          message: create(MessageSchema, { ...message, error: undefined }),
          stage,
          reason: message.error.message,
        });
      } else out.push(message);
    }
  }
  return { ok: true, messages: out, dead };
}
