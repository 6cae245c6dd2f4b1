/**
 * The pipeline engine: input → batches → processor stages → output.
 *
 * Delivery is at-least-once with acknowledgement after output: an input
 * chunk is acknowledged only once every message of it has been written by
 * the output (or by the dead-letter output, with the reason). Batches are
 * written in the order they were read, so a crash that makes a batch go
 * through its stage again never shows at the output: each message reaches
 * it once, unless the output itself fails mid-write. Up to `max_in_flight`
 * batches are between input and output at once.
 *
 * Stopping (`signal`): reading stops, batches in flight are processed and
 * written, the input is acknowledged for them, then everything is closed.
 *
 * Starting: processors, then the input, then plugin outputs, and file
 * outputs last — a file is created or emptied only once everything else has
 * started, so a run that fails to start leaves the previous output as it
 * was. A run whose output is a file and whose input can be replayed keeps a
 * checkpoint after each written batch; `resume` continues after it.
 *
 * @module
 */
import { create } from "../npm/protobuf.ts";
import {
  ErrorSchema,
  type Message,
  MessageSchema,
} from "../gen/redpanda/runtime/v1alpha1/message_pb.ts";
import type { Logger } from "../host/logger.ts";
import type { SupervisorEvent } from "../host/supervisor.ts";
import { BatchBuilder } from "./batch_policy.ts";
import type { OutputConfig, PipelineConfig } from "./config.ts";
import type { InputChunk, PipelineInput } from "./input.ts";
import { openInput, openOutput } from "./open.ts";
import { CheckpointWriter } from "./checkpoint.ts";
import { FileOutput } from "./file_output.ts";
import { planResume, type ResumePlan } from "./_resume_plan.ts";
import { payloadText, type PipelineOutput } from "./output.ts";
import {
  type DeadLetter,
  type ProcessorStage,
  type StageStats,
  startProcessorStage,
} from "./processor_stage.ts";

/** Where a running pipeline is: counters for progress displays. */
export interface PipelineProgress {
  /** Milliseconds since the pipeline started reading. */
  elapsedMs: number;
  /** Messages read from the input. */
  messagesIn: number;
  /** Messages written to the output. */
  messagesOut: number;
  /** Messages written to the dead-letter output. */
  deadLetters: number;
  /** Messages processors dropped (answered with fewer messages than they were given). */
  filtered: number;
  /** Batches completed. */
  batches: number;
  /** Batches between input and output now. */
  inFlight: number;
  /**
   * Per processor stage, and per input or output plugin (`kind`): latency,
   * restarts, retries, bisections, filtered.
   */
  stages: StageStats[];
}

/** How a pipeline run ended. */
export interface PipelineSummary extends PipelineProgress {
  /** The configuration file. */
  file: string;
  /** `completed`: input exhausted; `stopped`: stopped by the signal, in-flight batches drained; `failed`: see `error`. */
  status: "completed" | "stopped" | "failed";
  /** Why it failed. */
  error?: string;
  /** Output messages per second over the run. */
  messagesPerSecond: number;
}

/** Options for {@linkcode runPipeline}. */
export interface RunPipelineOptions {
  /** Stops the pipeline gracefully: no more reading, batches in flight drain. */
  signal?: AbortSignal;
  /** Receives plugin log lines. @default {stderrLogger} */
  logger?: Logger;
  /** Receives supervisor events (starts, crashes, restarts) of every plugin. */
  onEvent?: (event: SupervisorEvent) => void;
  /** Called every `progressIntervalMs` while running. */
  onProgress?: (progress: PipelineProgress) => void;
  /**
   * How often `onProgress` is called, in milliseconds.
   * @default {500}
   */
  progressIntervalMs?: number;
  /**
   * Continues an interrupted run after its last checkpoint (a file output
   * and a `file` or `generate` input): skips the input messages done, cuts
   * what the output files hold past the checkpoint.
   * @default {false}
   */
  resume?: boolean;
  /** Told about repairs and resumption: a torn line cut, where a run resumes. */
  onNotice?: (text: string) => void;
}

interface Unit {
  chunk: InputChunk;
  remaining: number;
}

interface Item {
  message: Message;
  unit: Unit;
}

/**
 * Runs a pipeline until its input ends, it is stopped, or it fails.
 *
 * @param config The validated configuration (see `loadPipelineConfig`).
 * @param options A stop signal, logger, events, progress callback.
 * @returns The summary; `status` says how it ended (a failure is reported there, not thrown).
 * @throws {Error} When a component cannot be started or opened (nothing is left running).
 * @example
 * ```ts ignore
 * const summary = await runPipeline(await loadPipelineConfig("pipeline.yaml"));
 * console.log(summary.messagesOut, summary.status);
 * ```
 */
export async function runPipeline(
  config: PipelineConfig,
  options: RunPipelineOptions = {},
): Promise<PipelineSummary> {
  options.signal?.throwIfAborted();
  const plan = await planResume(config, options.resume === true);
  if (plan.skip > 0) {
    options.onNotice?.(`resuming after ${plan.skip} input messages (${plan.checkpointPath})`);
  }
  await using stack = new AsyncDisposableStack();
  const componentOptions = {
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  };
  const stages: ProcessorStage[] = [];
  stack.defer(() => Promise.all(stages.map((s) => s.stop())).then(() => {}));
  const started = await Promise.allSettled(
    config.processors.map((p) => startProcessorStage(p, componentOptions)),
  );
  for (const result of started) if (result.status === "fulfilled") stages.push(result.value);
  const failedStart = started.find((r) => r.status === "rejected");
  if (failedStart) throw (failedStart as PromiseRejectedResult).reason;
  const input = stack.use(
    disposable(await openInput(config.input, { ...componentOptions, skip: plan.skip })),
  );
  // files last: a run that fails to start leaves an earlier run's output alone
  const open = async (output: OutputConfig, field: string, resumeAt: number | undefined) =>
    stack.use(disposable(
      await openOutput(output, {
        ...componentOptions,
        field,
        ...(resumeAt === undefined ? {} : { resumeAt }),
        ...(options.onNotice ? { onNotice: options.onNotice } : {}),
      }),
    ));
  const outputLast = config.output.kind === "file" && config.deadLetter.kind !== "file";
  let output: PipelineOutput;
  let deadOutput: PipelineOutput;
  if (outputLast) {
    deadOutput = await open(config.deadLetter, "dead_letter", plan.deadLetterAt);
    output = await open(config.output, "output", plan.outputAt);
  } else {
    output = await open(config.output, "output", plan.outputAt);
    deadOutput = await open(config.deadLetter, "dead_letter", plan.deadLetterAt);
  }
  const checkpoints = plan.checkpointPath === undefined
    ? undefined
    : new CheckpointWriter(plan.checkpointPath);
  const run = new Run(config, { input, stages, output, deadOutput, checkpoints, plan }, options);
  return await run.start();
}

function disposable<T extends { close(): Promise<void> }>(resource: T): T & AsyncDisposable {
  return Object.assign(resource, { [Symbol.asyncDispose]: () => resource.close() });
}

/** What a run works with, once started. */
interface Parts {
  input: PipelineInput;
  stages: ProcessorStage[];
  output: PipelineOutput;
  deadOutput: PipelineOutput;
  checkpoints: CheckpointWriter | undefined;
  plan: ResumePlan;
}

class Run {
  readonly #config: PipelineConfig;
  readonly #input: PipelineInput;
  readonly #stages: ProcessorStage[];
  readonly #output: PipelineOutput;
  readonly #deadOutput: PipelineOutput;
  readonly #deadKind: OutputConfig["kind"];
  readonly #options: RunPipelineOptions;
  readonly #checkpoints: CheckpointWriter | undefined;
  readonly #plan: ResumePlan;
  /** Input messages done (written, dead-lettered, filtered) this run, in input order. */
  #consumed = 0;
  /** A file output's length at the end of the last batch done. */
  #outputEnd: number | undefined;
  /** A dead-letter file's length at the end of the last batch done. */
  #deadEnd: number | undefined;
  /** Settles once the last batch dispatched has handed its writes to the outputs. */
  #handed: Promise<void> = Promise.resolve();
  readonly #reading = new AbortController();
  readonly #startedAt = performance.now();
  #messagesIn = 0;
  #messagesOut = 0;
  #dead = 0;
  #batches = 0;
  #inFlight = 0;
  #tail: Promise<void> = Promise.resolve();
  #failure: unknown;
  #wake: (() => void) | undefined;

  constructor(config: PipelineConfig, parts: Parts, options: RunPipelineOptions) {
    this.#config = config;
    this.#input = parts.input;
    this.#stages = parts.stages;
    this.#output = parts.output;
    this.#deadOutput = parts.deadOutput;
    this.#deadKind = config.deadLetter.kind;
    this.#checkpoints = parts.checkpoints;
    this.#plan = parts.plan;
    if (parts.output instanceof FileOutput) this.#outputEnd = parts.output.size;
    if (parts.deadOutput instanceof FileOutput) this.#deadEnd = parts.deadOutput.size;
    this.#options = options;
  }

  async start(): Promise<PipelineSummary> {
    // where this run starts, replacing an earlier run's: a crash before the
    // first batch is written resumes from here
    this.#checkpoint();
    await this.#checkpoints?.flush();
    const onStop = () => this.#reading.abort();
    this.#options.signal?.addEventListener("abort", onStop, { once: true });
    const interval = this.#options.onProgress
      ? setInterval(
        () => this.#options.onProgress?.(this.progress()),
        this.#options.progressIntervalMs ?? 500,
      )
      : undefined;
    try {
      await this.#readLoop();
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#options.signal?.removeEventListener("abort", onStop);
    }
    await this.#tail; // drain: every batch dispatched is written (or has failed)
    await this.#checkpoints?.flush().catch((error) => this.#fail(error));
    clearInterval(interval);
    const progress = this.progress();
    const summary: PipelineSummary = {
      file: this.#config.file,
      status: this.#failure !== undefined
        ? "failed"
        : this.#options.signal?.aborted
        ? "stopped"
        : "completed",
      ...progress,
      messagesPerSecond: progress.elapsedMs > 0
        ? Math.round(progress.messagesOut / (progress.elapsedMs / 1000))
        : 0,
    };
    if (this.#failure !== undefined) {
      summary.error = this.#failure instanceof Error
        ? this.#failure.message
        : String(this.#failure);
    }
    return summary;
  }

  progress(): PipelineProgress {
    const stages = this.#stages.map((s) => s.stats());
    const input = this.#input.stats?.();
    const output = this.#output.stats?.();
    const dead = this.#deadOutput.stats?.();
    return {
      elapsedMs: Math.round(performance.now() - this.#startedAt),
      messagesIn: this.#messagesIn,
      messagesOut: this.#messagesOut,
      deadLetters: this.#dead,
      filtered: stages.reduce((sum, s) => sum + s.filtered, 0),
      batches: this.#batches,
      inFlight: this.#inFlight,
      stages: [
        ...(input ? [input] : []),
        ...stages,
        ...(output ? [output] : []),
        ...(dead ? [{ ...dead, kind: "dead_letter" as const }] : []),
      ],
    };
  }

  #fail(error: unknown): void {
    this.#failure ??= error;
    this.#reading.abort();
    this.#wake?.();
  }

  async #readLoop(): Promise<void> {
    const builder = new BatchBuilder<Item>(this.#config.batching);
    const signal = this.#reading.signal;
    let pending: Promise<InputChunk | null> | undefined;
    while (!signal.aborted) {
      const due = builder.dueInMs();
      pending ??= this.#input.read(signal);
      let chunk: InputChunk | null | "due";
      if (due === undefined) {
        chunk = await pending;
      } else {
        let timer: ReturnType<typeof setTimeout> | undefined;
        chunk = await Promise.race([
          pending,
          new Promise<"due">((resolve) => timer = setTimeout(() => resolve("due"), due)),
        ]);
        clearTimeout(timer);
      }
      if (chunk === "due") {
        await this.#dispatch(builder.take());
        continue;
      }
      pending = undefined;
      if (chunk === null) break;
      if (chunk.messages.length === 0) {
        await chunk.ack();
        continue;
      }
      this.#messagesIn += chunk.messages.length;
      const unit: Unit = { chunk, remaining: chunk.messages.length };
      for (const message of chunk.messages) {
        builder.push({ message, unit }, payloadSize(message));
        if (builder.full) await this.#dispatch(builder.take());
      }
    }
    if (this.#failure === undefined && builder.size > 0) await this.#dispatch(builder.take());
  }

  /**
   * Waits for room, then starts one batch. Its output writes are handed over
   * after the previous batch's: once those were handed over, to outputs that
   * keep call order themselves (files, stdout: a file syncs batches in
   * flight together), else once those were written. Counting, checkpoints
   * and acknowledgements follow batch order.
   */
  async #dispatch(items: Item[]): Promise<void> {
    if (items.length === 0) return;
    while (this.#inFlight >= this.#config.maxInFlight && this.#failure === undefined) {
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    if (this.#failure !== undefined) return;
    this.#inFlight++;
    const processed = this.#process(items.map((i) => i.message));
    processed.catch(() => {});
    const previousDone = this.#tail;
    const previousHanded = this.#handed;
    let handed!: () => void;
    this.#handed = new Promise<void>((resolve) => handed = resolve);
    const ordered = this.#output.ordered === true && this.#deadOutput.ordered === true;
    this.#tail = (async () => {
      try {
        const result = await processed;
        await (ordered ? previousHanded : previousDone);
        if (this.#failure !== undefined) return;
        const writes = Promise.all([
          this.#write(this.#output, result.messages),
          result.dead.length > 0
            ? this.#write(this.#deadOutput, result.dead.map((d) => this.#deadMessage(d)))
            : undefined,
        ]);
        handed();
        const [outputEnd, deadEnd] = await writes;
        await previousDone;
        if (this.#failure !== undefined) return;
        if (outputEnd !== undefined) this.#outputEnd = outputEnd;
        if (deadEnd !== undefined) this.#deadEnd = deadEnd;
        this.#messagesOut += result.messages.length;
        this.#dead += result.dead.length;
        this.#batches++;
        this.#consumed += items.length;
        this.#checkpoint();
        await this.#acknowledge(items);
      } catch (error) {
        this.#fail(error);
      } finally {
        handed();
        this.#inFlight--;
        this.#wake?.();
      }
    })();
  }

  /** Writes to an output; for a file, resolves with its length at the end of this batch. */
  async #write(output: PipelineOutput, messages: Message[]): Promise<number | undefined> {
    if (output instanceof FileOutput) return await output.writeBatch(messages);
    await output.write(messages);
    return undefined;
  }

  /** Records, after a batch is durably written, how far the run got. */
  #checkpoint(): void {
    if (this.#checkpoints === undefined || this.#outputEnd === undefined) return;
    this.#checkpoints.save({
      version: 1,
      input: this.#plan.input,
      consumed: this.#plan.skip + this.#consumed,
      outputBytes: this.#outputEnd,
      ...(this.#deadEnd === undefined ? {} : { deadLetterBytes: this.#deadEnd }),
    });
  }

  async #process(messages: Message[]): Promise<{ messages: Message[]; dead: DeadLetter[] }> {
    const dead: DeadLetter[] = [];
    for (const stage of this.#stages) {
      if (messages.length === 0) break;
      const result = await stage.process(messages);
      messages = result.messages;
      dead.push(...result.dead);
    }
    return { messages, dead };
  }

  async #acknowledge(items: Item[]): Promise<void> {
    const acks: Promise<void>[] = [];
    for (const { unit } of items) {
      if (--unit.remaining === 0) acks.push(unit.chunk.ack());
    }
    await Promise.all(acks);
  }

  #deadMessage(dead: DeadLetter): Message {
    if (this.#deadKind === "plugin") {
      return create(MessageSchema, {
        ...dead.message,
        error: create(ErrorSchema, { message: `${dead.stage}: ${dead.reason}` }),
      });
    }
    const line = JSON.stringify({
      stage: dead.stage,
      reason: dead.reason,
      message: payloadText(dead.message),
    });
    return create(MessageSchema, {
      payload: { case: "bytes", value: new TextEncoder().encode(line) },
    });
  }
}

function payloadSize(message: Message): number {
  return message.payload.case === "bytes" ? message.payload.value.length : 64;
}
