/**
 * Where a run starts: afresh, or (`--resume`) after the last checkpoint —
 * how many input messages to skip and the lengths to cut the output files
 * back to. Also whether this run keeps checkpoints: when its output is a
 * file and its input can be replayed (`file`, `generate`). Internal to
 * `src/pipeline/`.
 *
 * @module
 */
import type { InputConfig, PipelineConfig } from "./config.ts";
import { type Checkpoint, CheckpointError, checkpointPath, readCheckpoint } from "./checkpoint.ts";
import { checkFileOutput } from "./file_output.ts";

/** How a run starts. */
export interface ResumePlan {
  /** Input messages already done. */
  skip: number;
  /** The output file's length to resume at (resumed runs). */
  outputAt: number | undefined;
  /** The dead-letter file's length to resume at (resumed runs). */
  deadLetterAt: number | undefined;
  /** Where checkpoints go, when this run keeps them. */
  checkpointPath: string | undefined;
  /** The input's name in checkpoints. */
  input: string;
}

function inputName(input: InputConfig): string | undefined {
  if (input.kind === "file") return `file ${input.path}`;
  if (input.kind === "generate") return "generate";
  return undefined;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
}

/**
 * Plans a run's start, before anything starts; checks that its file outputs
 * may be opened in their modes.
 *
 * @throws {OutputFileExistsError} When a file output would overwrite content (`mode` unset).
 * @throws {CheckpointError} When `resume` is asked for but is not possible.
 */
export async function planResume(config: PipelineConfig, resume: boolean): Promise<ResumePlan> {
  const input = inputName(config.input);
  const output = config.output;
  const keeps = input !== undefined && output.kind === "file";
  const plan: ResumePlan = {
    skip: 0,
    outputAt: undefined,
    deadLetterAt: undefined,
    checkpointPath: keeps ? checkpointPath(output.path) : undefined,
    input: input ?? "",
  };
  const dead = config.deadLetter;
  if (!resume) {
    if (output.kind === "file") {
      await checkFileOutput(output.path, { mode: output.mode, field: "output.file.mode" });
    }
    if (dead.kind === "file") {
      await checkFileOutput(dead.path, { mode: dead.mode, field: "dead_letter.file.mode" });
    }
    return plan;
  }
  if (!keeps) {
    throw new CheckpointError(
      output.kind === "file" ? checkpointPath(output.path) : "a checkpoint",
      "--resume needs a file output and a file or generate input",
    );
  }
  const path = plan.checkpointPath!;
  const checkpoint: Checkpoint | undefined = await readCheckpoint(path);
  if (checkpoint === undefined) {
    const bytes = await sizeOf(output.path);
    if (bytes > 0) {
      throw new CheckpointError(
        path,
        `there is none, and ${output.path} already holds ${bytes} bytes; start afresh with ` +
          `output.file.mode: truncate`,
      );
    }
    plan.outputAt = 0;
    if (dead.kind === "file") plan.deadLetterAt = await sizeOf(dead.path);
    return plan;
  }
  if (checkpoint.input !== input) {
    throw new CheckpointError(path, `it is of input "${checkpoint.input}", not "${input}"`);
  }
  plan.skip = checkpoint.consumed;
  plan.outputAt = checkpoint.outputBytes;
  if (dead.kind === "file") {
    plan.deadLetterAt = checkpoint.deadLetterBytes ?? await sizeOf(dead.path);
  }
  return plan;
}
