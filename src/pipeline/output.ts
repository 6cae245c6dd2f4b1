/**
 * What the engine writes to: an output takes a batch and resolves once it
 * is written (the engine then acknowledges the input). Built-in outputs
 * ({@linkcode lineOutput}, {@linkcode dropOutput}) and plugin outputs look
 * the same to the engine.
 *
 * @module
 */
import type { Message } from "../gen/redpanda/runtime/v1alpha1/message_pb.ts";
import type { StageStats } from "./processor_stage.ts";
import { fromValue } from "../protocol/redpanda_value.ts";

/** A sink of messages. */
export interface PipelineOutput {
  /** Its name, for progress and errors. */
  readonly name: string;
  /** A plugin's numbers (restarts, calls), for progress and the summary. */
  stats?(): StageStats;
  /**
   * Whether calls of `write` may overlap: the output writes batches in call
   * order itself. Otherwise the engine calls it once the previous batch is written.
   */
  readonly ordered?: boolean;
  /** Writes a batch; resolves once it is written. */
  write(messages: readonly Message[]): Promise<void>;
  /** Where a networked output is, for the progress line. */
  status?(): string;
  /** Flushes and releases the output. Idempotent. */
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A message's payload as bytes (a structured payload as JSON). */
export function payloadBytes(message: Message): Uint8Array {
  const payload = message.payload;
  if (payload.case === "bytes") return payload.value;
  if (payload.case === "structured") {
    return encoder.encode(JSON.stringify(fromValue(payload.value), jsonSafe));
  }
  return new Uint8Array();
}

/** A message's payload as text. */
export function payloadText(message: Message): string {
  return decoder.decode(payloadBytes(message));
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return decoder.decode(value);
  return value;
}

/** Each message's payload and a newline, in one buffer. */
export function serializeLines(messages: readonly Message[]): Uint8Array {
  const parts = messages.map(payloadBytes);
  let total = parts.length;
  for (const part of parts) total += part.length;
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
    bytes[at++] = 10;
  }
  return bytes;
}

/**
 * Writes each message's payload and a newline to a byte sink, one write per batch.
 *
 * @param name The output's name.
 * @param sink Where the bytes go.
 * @param close Closes the sink.
 * @returns The output.
 * @example
 * ```ts
 * import { lineOutput } from "./output.ts";
 * const chunks: Uint8Array[] = [];
 * const output = lineOutput("memory", (bytes) => { chunks.push(bytes); return Promise.resolve(); });
 * await output.write([]);
 * await output.close();
 * ```
 */
export function lineOutput(
  name: string,
  sink: (bytes: Uint8Array) => Promise<void>,
  close: () => Promise<void> = () => Promise.resolve(),
): PipelineOutput {
  let closing: Promise<void> | undefined;
  let writing: Promise<void> = Promise.resolve();
  return {
    name,
    ordered: true,
    write(messages) {
      if (messages.length === 0) return writing;
      const bytes = serializeLines(messages);
      return writing = writing.then(() => sink(bytes));
    },
    close: () => closing ??= writing.catch(() => {}).then(close),
  };
}

async function writeAll(writer: { write(p: Uint8Array): Promise<number> }, bytes: Uint8Array) {
  while (bytes.length > 0) bytes = bytes.subarray(await writer.write(bytes));
}

/**
 * Writes lines to standard output (or standard error).
 *
 * @param stream Which one.
 * @returns The output.
 */
export function stdioOutput(stream: "stdout" | "stderr"): PipelineOutput {
  const target = stream === "stdout" ? Deno.stdout : Deno.stderr;
  return lineOutput(stream, (bytes) => writeAll(target, bytes));
}

/**
 * Discards every message (counted as delivered).
 *
 * @returns The output.
 */
export function dropOutput(): PipelineOutput {
  return {
    name: "drop",
    ordered: true,
    write: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}
