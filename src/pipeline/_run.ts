/**
 * One run of a pipeline once everything has started: the read loop that
 * builds batches, their dispatch (at most `max_in_flight` at once), the
 * writes in batch order, checkpoints, acknowledgements and the counters.
 * Internal to `src/pipeline/`; `runPipeline` (engine.ts) starts it.
 *
 * @module
 */
import { create } from "../npm/protobuf.ts";
import {
  ErrorSchema,
  type Message,
  MessageSchema,
} from "../gen/redpanda/runtime/v1alpha1/message_pb.ts";
import { BatchBuilder } from "./batch_policy.ts";
import type { OutputConfig, PipelineConfig } from "./config.ts";
import type { PipelineProgress, PipelineSummary, RunPipelineOptions } from "./engine.ts";
import type { InputChunk, PipelineInput } from "./input.ts";
import type { CheckpointWriter } from "./checkpoint.ts";
import { FileOutput } from "./file_output.ts";
import type { ResumePlan } from "./_resume_plan.ts";
import { payloadText, type PipelineOutput } from "./output.ts";
import type { DeadLetter, ProcessorStage } from "./processor_stage.ts";
import { StageReloads } from "./reload.ts";
import { watchPluginFiles } from "./plugin_watch.ts";

interface Unit {
  chunk: InputChunk;
  remaining: number;
}

interface Item {
  message: Message;
  unit: Unit;
}

/** What a run works with, once started. */
export interface Parts {
  input: PipelineInput;
  stages: ProcessorStage[];
  output: PipelineOutput;
  deadOutput: PipelineOutput;
  checkpoints: CheckpointWriter | undefined;
  plan: ResumePlan;
}

export class Run {
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
    const reloads = new StageReloads(this.#stages, this.#options.onReload);
    const watch = this.#options.watch === true
      ? watchPluginFiles(this.#config, reloads)
      : undefined;
    this.#options.onStart?.(() => this.progress(), reloads);
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
    await watch?.[Symbol.asyncDispose]();
    await reloads.close();
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
    const progress: PipelineProgress = {
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
