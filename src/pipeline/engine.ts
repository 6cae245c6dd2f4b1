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
import { withOrigins } from "./origin.ts";
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
  /** Batches completed. */
  batches: number;
  /** Batches between input and output now. */
  inFlight: number;
  /** Per processor stage: latency, restarts, retries, bisections. */
  stages: StageStats[];
  /** A networked input's state (e.g. `nats connected, fetching`), when it has one. */
  inputStatus?: string;
  /** A networked output's state, when it has one. */
  outputStatus?: string;
  /** Messages waiting at the source (a broker consumer's lag), when the input knows. */
  inputLag?: number;
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
  /** Called once the pipeline runs, with a way to read its progress at any time (metrics). */
  onStart?: (progress: () => PipelineProgress) => void;
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
  await using stack = new AsyncDisposableStack();
  const componentOptions = {
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  };
  const output = stack.use(disposable(await openOutput(config.output, componentOptions)));
  const deadOutput = stack.use(disposable(await openOutput(config.deadLetter, componentOptions)));
  const stages: ProcessorStage[] = [];
  stack.defer(() => Promise.all(stages.map((s) => s.stop())).then(() => {}));
  const started = await Promise.allSettled(
    config.processors.map((p) => startProcessorStage(p, componentOptions)),
  );
  for (const result of started) if (result.status === "fulfilled") stages.push(result.value);
  const failedStart = started.find((r) => r.status === "rejected");
  if (failedStart) throw (failedStart as PromiseRejectedResult).reason;
  const input = stack.use(
    disposable(withOrigins(await openInput(config.input, componentOptions), config)),
  );
  const run = new Run(config, input, stages, output, deadOutput, config.deadLetter, options);
  return await run.start();
}

function disposable<T extends { close(): Promise<void> }>(resource: T): T & AsyncDisposable {
  return Object.assign(resource, { [Symbol.asyncDispose]: () => resource.close() });
}

class Run {
  readonly #config: PipelineConfig;
  readonly #input: PipelineInput;
  readonly #stages: ProcessorStage[];
  readonly #output: PipelineOutput;
  readonly #deadOutput: PipelineOutput;
  readonly #deadKind: OutputConfig["kind"];
  readonly #options: RunPipelineOptions;
  readonly #reading = new AbortController();
  readonly #startedAt = performance.now();
  #messagesIn = 0;
  #messagesOut = 0;
  #dead = 0;
  #batches = 0;
  #inFlight = 0;
  #tail: Promise<void> = Promise.resolve();
  #writeStarted: Promise<void> = Promise.resolve();
  #deadTail: Promise<void> = Promise.resolve();
  #failure: unknown;
  #wake: (() => void) | undefined;

  constructor(
    config: PipelineConfig,
    input: PipelineInput,
    stages: ProcessorStage[],
    output: PipelineOutput,
    deadOutput: PipelineOutput,
    deadLetter: OutputConfig,
    options: RunPipelineOptions,
  ) {
    this.#config = config;
    this.#input = input;
    this.#stages = stages;
    this.#output = output;
    this.#deadOutput = deadOutput;
    this.#deadKind = deadLetter.kind;
    this.#options = options;
  }

  async start(): Promise<PipelineSummary> {
    const onStop = () => this.#reading.abort();
    this.#options.signal?.addEventListener("abort", onStop, { once: true });
    this.#options.onStart?.(() => this.progress());
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
    const progress: PipelineProgress = {
      elapsedMs: Math.round(performance.now() - this.#startedAt),
      messagesIn: this.#messagesIn,
      messagesOut: this.#messagesOut,
      deadLetters: this.#dead,
      batches: this.#batches,
      inFlight: this.#inFlight,
      stages: this.#stages.map((s) => s.stats()),
    };
    const inputStatus = this.#input.status?.();
    if (inputStatus !== undefined) progress.inputStatus = inputStatus;
    const outputStatus = this.#output.status?.();
    if (outputStatus !== undefined) progress.outputStatus = outputStatus;
    const lag = this.#input.lag?.();
    if (lag !== undefined) progress.inputLag = lag;
    return progress;
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

  /** Waits for room, then starts one batch; its output write is chained after the previous one. */
  async #dispatch(items: Item[]): Promise<void> {
    if (items.length === 0) return;
    while (this.#inFlight >= this.#config.maxInFlight && this.#failure === undefined) {
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    if (this.#failure !== undefined) return;
    this.#inFlight++;
    const processed = this.#process(items.map((i) => i.message));
    processed.catch(() => {});
    const previous = this.#tail;
    // a pipelined output takes this write once the previous one started
    const previousStarted = this.#writeStarted;
    let started!: () => void;
    this.#writeStarted = new Promise<void>((resolve) => started = resolve);
    this.#tail = (async () => {
      try {
        const result = await processed;
        await (this.#output.pipelined ? previousStarted : previous);
        if (this.#failure !== undefined) return;
        const dead = result.dead.length > 0
          ? this.#deadTail = this.#deadTail.then(() =>
            this.#deadOutput.write(result.dead.map((d) => this.#deadMessage(d)))
          )
          : undefined;
        const writing = Promise.all([this.#output.write(result.messages), dead]);
        started();
        await writing;
        await previous; // counted and acknowledged in order
        this.#messagesOut += result.messages.length;
        this.#dead += result.dead.length;
        this.#batches++;
        await this.#acknowledge(items);
      } catch (error) {
        this.#fail(error);
      } finally {
        started();
        this.#inFlight--;
        this.#wake?.();
      }
    })();
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
