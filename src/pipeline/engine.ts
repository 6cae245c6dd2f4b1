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
import type { Logger } from "../host/logger.ts";
import type { SupervisorEvent } from "../host/supervisor.ts";
import type { OutputConfig, PipelineConfig } from "./config.ts";
import { openInput, openOutput } from "./open.ts";
import { withOrigins } from "./origin.ts";
import { CheckpointWriter } from "./checkpoint.ts";
import { planResume } from "./_resume_plan.ts";
import type { PipelineOutput } from "./output.ts";
import { type ProcessorStage, type StageStats, startProcessorStage } from "./processor_stage.ts";
import { Run } from "./_run.ts";
import type { PipelineControl, StageReload } from "./reload.ts";

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
  /**
   * Called once the pipeline runs, with a way to read its progress at any
   * time (metrics) and its control: `reload()` swaps plugin processors for
   * their plugin files as they are now, by hot upgrade (no batch lost or
   * written twice).
   */
  onStart?: (progress: () => PipelineProgress, control: PipelineControl) => void;
  /**
   * Reloads a plugin processor (hot upgrade) when its plugin file changes
   * (`bulkhead run --watch`).
   * @default {false}
   */
  watch?: boolean;
  /** Told how each reload ended (`watch`, SIGHUP, or `reload()` of `onStart`'s control). */
  onReload?: (reload: StageReload) => void;
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
    disposable(
      withOrigins(
        await openInput(config.input, { ...componentOptions, skip: plan.skip }),
        config,
      ),
    ),
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
