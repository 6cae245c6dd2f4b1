/**
 * What the engine reads from: an input yields chunks of messages, each
 * acknowledged once every message in it has reached the output (or the
 * dead-letter output). Built-in inputs ({@linkcode openInput}) and plugin
 * inputs look the same to the engine.
 *
 * @module
 */
import type { Message } from "../gen/redpanda/runtime/v1alpha1/message_pb.ts";
import type { StageStats } from "./processor_stage.ts";

/** Messages read together, acknowledged together. */
export interface InputChunk {
  /** The messages. */
  messages: Message[];
  /**
   * Acknowledges the chunk: every message was delivered (`error` undefined)
   * or given up on (`error` says why). Called once.
   */
  ack(error?: string): Promise<void>;
}

/** A source of messages. */
export interface PipelineInput {
  /** Its name, for progress and errors. */
  readonly name: string;
  /** A plugin's numbers (restarts, calls), for progress and the summary. */
  stats?(): StageStats;
  /**
   * Reads the next chunk; `null` at the end of input or once `signal` is
   * aborted (the engine then drains what is in flight).
   */
  read(signal: AbortSignal): Promise<InputChunk | null>;
  /** Where a networked input is (e.g. `nats reconnecting for 3 s`), for the progress line. */
  status?(): string;
  /** Messages waiting at the source, when it knows (a broker's consumer lag). */
  lag?(): number | undefined;
  /** Releases the input. Idempotent. */
  close(): Promise<void>;
}
