/**
 * `bulkhead run <pipeline.yaml>`: runs a pipeline and shows its progress.
 * Thin: parses its options, calls `src/pipeline`, prints.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loadPipelineConfig } from "../pipeline/config.ts";
import { PipelineConfigError } from "../pipeline/config_error.ts";
import { type PipelineProgress, runPipeline } from "../pipeline/engine.ts";
import { formatProgressLine, formatSummary } from "../pipeline/progress.ts";
import { describePipeline } from "../pipeline/plan.ts";
import { stderrLogger } from "../host/logger.ts";
import { UsageError } from "./args.ts";
import { dirname } from "node:path";
import type { ConfigIssue } from "../pipeline/config_error.ts";
import { pipelineSchema } from "./pipeline_schema.ts";

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
        schema: { type: "boolean" },
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
    config = await loadPipelineConfig(file);
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
  const live = io.isTerminal && !quiet && !json;
  let previous: PipelineProgress | undefined;
  let summary;
  try {
    summary = await runPipeline(config, {
      signal,
      logger: stderrLogger,
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
