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
import { formatProgressLine, formatSummary } from "../pipeline/progress.ts";
import { describePipeline } from "../pipeline/plan.ts";
import { type MetricsServer, PipelineMetrics, serveMetrics } from "../pipeline/metrics.ts";
import { stderrLogger } from "../host/logger.ts";
import { UsageError } from "./args.ts";

/** Exit codes of `bulkhead run`. */
export const RunExitCode = {
  /** The input ended and every message was written (or dead-lettered). */
  ok: 0,
  /** The pipeline failed while running (a plugin spent its crash budget, an output failed). */
  failed: 1,
  /** Bad command line or configuration (each problem printed as file:line: field: problem). */
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
        plugins: { type: "string", multiple: true },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\.$/, ""), "run");
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
    io.out(describePipeline(config, Deno.cwd()));
    return RunExitCode.ok;
  }
  const live = io.isTerminal && !quiet && !json;
  let previous: PipelineProgress | undefined;
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
  try {
    summary = await runPipeline(config, {
      signal,
      logger: stderrLogger,
      onStart: (progress) => metrics.attach(progress),
      onEvent: (event) => metrics.onEvent(event),
      ...(live
        ? {
          onProgress: (progress: PipelineProgress) => {
            io.err(`\r\x1b[2K${formatProgressLine(progress, previous)}`);
            previous = progress;
          },
        }
        : {}),
    });
  } catch (error) {
    if (live) io.err("\r\x1b[2K");
    io.err(`bulkhead: ${error instanceof Error ? error.message : String(error)}\n`);
    return RunExitCode.startFailed;
  } finally {
    metrics.finish();
    await metricsServer?.close();
  }
  if (live) io.err("\r\x1b[2K");
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
