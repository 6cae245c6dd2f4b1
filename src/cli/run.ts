/**
 * `bulkhead run <pipeline.yaml>`: runs a pipeline and shows its progress.
 * Thin: parses its options, calls `src/pipeline`, prints.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loadPipelineConfig } from "../pipeline/config.ts";
import { PipelineConfigError } from "../pipeline/config_error.ts";
import { discoverManifests } from "../pipeline/manifest.ts";
import { type PipelineProgress, runPipeline } from "../pipeline/engine.ts";
import {
  count,
  fitToWidth,
  formatEvent,
  formatProgressLine,
  formatSummary,
} from "../pipeline/progress.ts";
import { OutputFileExistsError } from "../pipeline/file_output.ts";
import { CheckpointError } from "../pipeline/checkpoint.ts";
import { describePipeline } from "../pipeline/plan.ts";
import { type MetricsServer, PipelineMetrics, serveMetrics } from "../pipeline/metrics.ts";
import { formatLogRecord, stderrLogger } from "../host/logger.ts";
import { UsageError } from "./args.ts";
import { dirname } from "node:path";
import type { ConfigIssue } from "../pipeline/config_error.ts";
import { pipelineSchema } from "./pipeline_schema.ts";
import { formatReload, type PipelineControl } from "../pipeline/reload.ts";

/** Exit codes of `bulkhead run`. */
export const RunExitCode = {
  /** The input ended and every message was written (or dead-lettered). */
  ok: 0,
  /** The pipeline failed while running (a plugin spent its crash budget, an output failed). */
  failed: 1,
  /**
   * Bad command line or configuration (each problem printed as file:line: field: problem),
   * an output file that would be overwritten, or a run that cannot be resumed.
   */
  usage: 2,
  /** A plugin failed to start. */
  startFailed: 3,
  /** Stopped by SIGINT or SIGTERM after draining the batches in flight. */
  interrupted: 130,
} as const;

/** Where `bulkhead run` writes. */
export interface RunIo {
  /** Writes text to stdout. */
  out(text: string): void;
  /** Writes text to stderr. */
  err(text: string): void;
  /** Whether stderr is a terminal (then a live progress line is shown). */
  isTerminal: boolean;
  /** The terminal's width in columns (the live line is cut to it). @default {80} */
  columns?: () => number;
  /**
   * Registers what to print when a second SIGINT/SIGTERM exits at once
   * (what was not delivered), for the caller that handles the signals.
   */
  setLastWords?: (words: () => string) => void;
}

/**
 * The live progress line of a terminal: redrawn in place, cut to the
 * terminal's width, and moved down (printed again) under every log line, so
 * a log line never ends up glued to it.
 */
class LiveLine {
  readonly #io: RunIo;
  #line = "";

  constructor(io: RunIo) {
    this.#io = io;
  }

  /** Draws (or redraws) the status line in place. */
  draw(line: string): void {
    this.#line = fitToWidth(line, this.#io.columns?.() ?? 80);
    this.#io.err(`\r\x1b[2K${this.#line}`);
  }

  /** Prints whole lines above the status line, then redraws it under them. */
  above(text: string): void {
    this.#io.err(`\r\x1b[2K${text.endsWith("\n") ? text : `${text}\n`}${this.#line}`);
  }

  /** Removes the status line (before the summary). */
  clear(): void {
    this.#io.err("\r\x1b[2K");
    this.#line = "";
  }
}

/**
 * Runs `bulkhead run` with the arguments after `run`.
 *
 * @param argv The arguments.
 * @param signal Stops the pipeline gracefully.
 * @param io Where to print.
 * @returns The exit code (see {@linkcode RunExitCode}).
 * @throws {UsageError} When the command line is wrong.
 */
export async function runCommand(
  argv: readonly string[],
  signal: AbortSignal,
  io: RunIo,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        quiet: { type: "boolean", short: "q" },
        json: { type: "boolean" },
        check: { type: "boolean" },
        "metrics-addr": { type: "string" },
        resume: { type: "boolean" },
        watch: { type: "boolean", short: "w" },
        schema: { type: "boolean" },
        plugins: { type: "string", multiple: true },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\.$/, ""), "run");
  }
  if (parsed.values.schema === true) {
    io.out(`${JSON.stringify(pipelineSchema(), null, 2)}\n`);
    return RunExitCode.ok;
  }
  const [file, ...extra] = parsed.positionals;
  if (file === undefined) {
    throw new UsageError("No pipeline given: bulkhead run <pipeline.yaml>", "run");
  }
  if (extra.length > 0) throw new UsageError(`Unexpected argument ${extra[0]}`, "run");
  const quiet = parsed.values.quiet === true;
  const json = parsed.values.json === true;

  let config;
  try {
    const plugins = await discoverManifests(parsed.values.plugins ?? []);
    config = await loadPipelineConfig(file, { plugins });
  } catch (error) {
    if (!(error instanceof PipelineConfigError)) throw error;
    io.err(`bulkhead: ${error.message}\n`);
    return RunExitCode.usage;
  }
  if (parsed.values.check === true) {
    const issues = await checkOutputDirectories(config);
    if (issues.length > 0) {
      io.err(`bulkhead: ${new PipelineConfigError(issues).message}\n`);
      return RunExitCode.usage;
    }
    io.out(describePipeline(config, Deno.cwd()));
    return RunExitCode.ok;
  }
  const live = io.isTerminal && !quiet && !json ? new LiveLine(io) : undefined;
  let previous: PipelineProgress | undefined;
  // notices (what a file output cut, where a run resumes) show even with --quiet
  const say = (text: string) => live ? live.above(text) : io.err(text);
  const undelivered = () => {
    const p = previous;
    if (!p) return "bulkhead: stopped at once; nothing had been read yet\n";
    const lost = p.messagesIn - p.messagesOut - p.deadLetters;
    return `bulkhead: stopped at once: ${count(lost, "message")} in ${
      count(p.inFlight, "batch", "batches")
    } not delivered (read but not written; the input was not acknowledged for them)\n`;
  };
  io.setLastWords?.(() => {
    live?.clear();
    return undelivered();
  });
  const onInterrupt = () => {
    if (quiet) return;
    const batches = previous?.inFlight ?? 0;
    say(
      `bulkhead: stopping: draining ${count(batches, "batch", "batches")} — ` +
        "Ctrl-C again to stop now\n",
    );
  };
  signal.addEventListener("abort", onInterrupt, { once: true });
  let summary;
  const metrics = new PipelineMetrics();
  let metricsServer: MetricsServer | undefined;
  const metricsAddr = parsed.values["metrics-addr"];
  if (metricsAddr !== undefined) {
    try {
      metricsServer = serveMetrics(metricsAddr, metrics);
    } catch (error) {
      if (error instanceof RangeError) throw new UsageError(error.message, "run");
      io.err(`bulkhead: Cannot serve metrics on ${metricsAddr}: ${(error as Error).message}\n`);
      return RunExitCode.usage;
    }
    io.err(`bulkhead: metrics on http://${metricsServer.address}/metrics\n`);
  }
  // SIGHUP reloads every plugin processor (hot upgrade), once the pipeline runs
  let control: PipelineControl | undefined;
  const onHangup = () => {
    if (control === undefined) {
      say("bulkhead: SIGHUP ignored: the pipeline is still starting\n");
      return;
    }
    if (!quiet) say("bulkhead: SIGHUP: reloading plugin processors\n");
    void control.reload();
  };
  const hangup = Deno.build.os !== "windows";
  if (hangup) Deno.addSignalListener("SIGHUP", onHangup);
  const watch = parsed.values.watch === true;
  try {
    summary = await runPipeline(config, {
      signal,
      logger: live ? (record) => live.above(`${formatLogRecord(record)}\n`) : stderrLogger,
      onStart: (progress, pipeline) => {
        metrics.attach(progress);
        control = pipeline;
        if (watch && !quiet) {
          say("bulkhead: watching plugin files: a change reloads its processor\n");
        }
      },
      watch,
      onReload: (reload) => {
        if (!quiet || reload.status !== "upgraded") say(`bulkhead: ${formatReload(reload)}\n`);
      },
      resume: parsed.values.resume === true,
      onNotice: (text) => say(`bulkhead: ${text}\n`),
      onEvent: (event) => {
        metrics.onEvent(event);
        const line = quiet ? undefined : formatEvent(event);
        if (line !== undefined) say(`bulkhead: ${line}\n`);
      },
      onProgress: (progress: PipelineProgress) => {
        live?.draw(formatProgressLine(progress, previous));
        previous = progress;
      },
    });
  } catch (error) {
    live?.clear();
    io.err(`bulkhead: ${error instanceof Error ? error.message : String(error)}\n`);
    return error instanceof OutputFileExistsError || error instanceof CheckpointError
      ? RunExitCode.usage
      : RunExitCode.startFailed;
  } finally {
    if (hangup) Deno.removeSignalListener("SIGHUP", onHangup);
    signal.removeEventListener("abort", onInterrupt);
    metrics.finish();
    await metricsServer?.close();
  }
  live?.clear();
  if (json) {
    const text = `${JSON.stringify(summary)}\n`;
    if (config.output.kind === "stdout") io.err(text);
    else io.out(text);
  } else if (!quiet) {
    io.err(formatSummary(summary));
  }
  return summary.status === "completed"
    ? RunExitCode.ok
    : summary.status === "stopped"
    ? RunExitCode.interrupted
    : RunExitCode.failed;
}

/**
 * `--check`: the directories that file outputs write into exist and this
 * user can create files there (tried for real, with a file removed at once).
 */
async function checkOutputDirectories(
  config: Awaited<ReturnType<typeof loadPipelineConfig>>,
): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  const outputs = [["output", config.output], ["dead_letter", config.deadLetter]] as const;
  for (const [field, output] of outputs) {
    if (output.kind !== "file") continue;
    const dir = dirname(output.path);
    try {
      const probe = await Deno.makeTempFile({ dir, prefix: ".bulkhead-check-" });
      await Deno.remove(probe);
    } catch (error) {
      const why = error instanceof Deno.errors.NotFound
        ? `its directory ${dir} does not exist`
        : error instanceof Deno.errors.PermissionDenied
        ? `its directory ${dir} is not writable`
        : `cannot write into ${dir}: ${(error as Error).message}`;
      issues.push({ file: config.file, field: `${field}.file.path`, message: why });
    }
  }
  return issues;
}
