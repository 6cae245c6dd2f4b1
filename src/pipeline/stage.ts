/**
 * What every pipeline stage is and makes: a processor stage's interface,
 * its results (messages on, dead letters), its numbers, and the error of a
 * stage that cannot go on.
 *
 * @module
 */
import type { Message } from "../gen/redpanda/runtime/v1alpha1/message_pb.ts";
import type { CallStatsSnapshot } from "../host/call_stats.ts";
import type { Logger } from "../host/logger.ts";
import type { SupervisorEvent } from "../host/supervisor_options.ts";

/** A message that could not be processed, and why. */
export interface DeadLetter {
  /** The message as it entered the stage. */
  message: Message;
  /** The stage that gave up on it. */
  stage: string;
  /** Why, e.g. `crashed plugin "crashy" 2 times when alone: signal SIGSEGV`. */
  reason: string;
}

/** What a stage made of a batch. */
export interface StageResult {
  /** Messages for the next stage (or the output). */
  messages: Message[];
  /** Messages given up on. */
  dead: DeadLetter[];
}

/** A stage's numbers: a processor's, or an input or output plugin's. */
export interface StageStats extends CallStatsSnapshot {
  /** The stage's name. */
  name: string;
  /** What it is in the pipeline. */
  kind: "input" | "processor" | "output" | "dead_letter";
  /** Processes in the pool (0 for an in-process stage). */
  processes: number;
  /** Plugin restarts so far. */
  restarts: number;
  /** Batches sent again after a crash or a hang. */
  retries: number;
  /** Times a batch was split to find the messages at fault. */
  bisections: number;
  /**
   * Messages it was given that it did not pass on nor flag: an answer with
   * fewer messages than the batch (none: the batch was dropped).
   */
  filtered: number;
}

/** A processor stage, plugin or in-process. */
export interface ProcessorStage {
  /** Its name. */
  readonly name: string;
  /**
   * Processes one batch.
   *
   * @throws {StageFailedError} When the stage cannot go on (crash budget spent, stopped).
   */
  process(messages: Message[]): Promise<StageResult>;
  /** Its numbers. */
  stats(): StageStats;
  /** Stops its processes (gracefully, then by force). Idempotent. */
  stop(): Promise<void>;
}

/** A stage that cannot go on: its plugin spent its crash budget, or it was stopped. */
export class StageFailedError extends Error {
  /** The stage. */
  readonly stage: string;
  /**
   * @param stage The stage.
   * @param message What happened.
   * @param options The cause.
   */
  constructor(stage: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StageFailedError";
    this.stage = stage;
  }
}

/** Options for {@linkcode startProcessorStage}. */
export interface StageOptions {
  /** Receives plugin log lines. */
  logger?: Logger;
  /** Receives supervisor events of every process. */
  onEvent?: (event: SupervisorEvent) => void;
}
