/**
 * One message as a batch plugin (processor, input or output) sees it: a
 * payload, metadata, and an error flag.
 *
 * @module
 */
import type { PlainValue } from "../protocol/redpanda_value.ts";

export type { PlainValue };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A message in a batch. The payload is bytes (a structured payload from a
 * Redpanda Connect host arrives as its JSON text); {@linkcode BatchMessage.text}
 * reads and writes it as UTF-8. Set {@linkcode BatchMessage.error} to flag
 * this message alone as failed: a Bulkhead pipeline sends it to its
 * dead-letter output with that reason.
 *
 * @example
 * ```ts
 * import { BatchMessage } from "./batch_message.ts";
 * const message = BatchMessage.fromText("hello", { source: "demo" });
 * message.text = message.text.toUpperCase();
 * if (message.text !== "HELLO" || message.metadata.source !== "demo") throw new Error();
 * ```
 */
export class BatchMessage {
  /** The payload. */
  bytes: Uint8Array;
  /** Metadata, passed along with the message. */
  metadata: Record<string, PlainValue>;
  /** Set to flag this message as failed, with the reason. */
  error: string | undefined;

  /**
   * Makes a message.
   *
   * @param bytes The payload.
   * @param metadata Its metadata.
   */
  constructor(bytes: Uint8Array, metadata: Record<string, PlainValue> = {}) {
    this.bytes = bytes;
    this.metadata = metadata;
    this.error = undefined;
  }

  /**
   * Makes a message from text (UTF-8).
   *
   * @param text The payload.
   * @param metadata Its metadata.
   * @returns The message.
   * @example
   * ```ts
   * import { BatchMessage } from "./batch_message.ts";
   * if (BatchMessage.fromText("a").bytes.length !== 1) throw new Error();
   * ```
   */
  static fromText(text: string, metadata: Record<string, PlainValue> = {}): BatchMessage {
    return new BatchMessage(encoder.encode(text), metadata);
  }

  /** The payload as UTF-8 text; setting it replaces the payload. */
  get text(): string {
    return decoder.decode(this.bytes);
  }

  set text(value: string) {
    this.bytes = encoder.encode(value);
  }
}
