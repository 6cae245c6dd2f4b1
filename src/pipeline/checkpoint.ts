/**
 * The checkpoint of a pipeline whose output is a file: a small JSON file
 * beside the output (`<output>.checkpoint`) saying how many input messages
 * are done and how long the output (and a dead-letter file) were then.
 * `bulkhead run --resume` reads it, cuts the files back to those lengths and
 * skips that many input messages, so an interrupted run ends as if it had
 * never stopped: nothing lost, nothing written twice.
 *
 * It is written after each batch the output has durably written (so it is
 * never ahead of the output), atomically: a temporary file, `fsync`, then
 * `rename` over the old one; at most one every 50 ms, the newest state
 * winning, and always at the end of a run.
 *
 * @module
 */
import { sleep } from "../_timing.ts";

/** Where a run was at its last acknowledged batch. */
export interface Checkpoint {
  /** The format. */
  version: 1;
  /** The input, as the configuration names it (`file /path`, `generate`). */
  input: string;
  /** Input messages done (written, dead-lettered or filtered), from the start. */
  consumed: number;
  /** The output file's length then, in bytes. */
  outputBytes: number;
  /** The dead-letter file's length then, when dead letters go to a file. */
  deadLetterBytes?: number;
}

/** A checkpoint file that cannot be used. */
export class CheckpointError extends Error {
  /**
   * Makes the error.
   *
   * @param path The checkpoint file.
   * @param reason What is wrong.
   * @param options The cause.
   */
  constructor(path: string, reason: string, options?: ErrorOptions) {
    super(`Cannot resume from ${path}: ${reason}`, options);
    this.name = "CheckpointError";
  }
}

/** The checkpoint file of an output file. */
export function checkpointPath(outputPath: string): string {
  return `${outputPath}.checkpoint`;
}

function count(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Reads a checkpoint.
 *
 * @param path The checkpoint file.
 * @returns The checkpoint, or undefined when there is none.
 * @throws {CheckpointError} When it cannot be read or is not a checkpoint.
 */
export async function readCheckpoint(path: string): Promise<Checkpoint | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new CheckpointError(path, (error as Error).message, { cause: error });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(path, "it is not JSON", { cause: error });
  }
  const ok = typeof data === "object" && data !== null &&
    Object.hasOwn(data, "version") && (data as Checkpoint).version === 1 &&
    typeof (data as Checkpoint).input === "string" &&
    count((data as Checkpoint).consumed) && count((data as Checkpoint).outputBytes) &&
    (!Object.hasOwn(data, "deadLetterBytes") || count((data as Checkpoint).deadLetterBytes));
  if (!ok) throw new CheckpointError(path, "it is not a version 1 checkpoint");
  return data as Checkpoint;
}

/** Writes one checkpoint atomically: temporary file, fsync, rename. */
async function writeCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  const temporary = `${path}.tmp`;
  const file = await Deno.open(temporary, { write: true, create: true, truncate: true });
  try {
    let bytes = new TextEncoder().encode(`${JSON.stringify(checkpoint)}\n`);
    while (bytes.length > 0) bytes = bytes.subarray(await file.write(bytes));
    await file.sync();
  } finally {
    file.close();
  }
  await Deno.rename(temporary, path);
}

/**
 * Saves checkpoints one at a time, the newest winning, at most one per
 * `intervalMs` (each costs a file creation, an fsync and a rename, which
 * contend with the output's own syncs): a crash then redoes at most that
 * much work, and a resumed run still cuts the output back to the exact
 * batch the checkpoint names.
 */
export class CheckpointWriter {
  readonly path: string;
  readonly #intervalMs: number;
  #pending: Checkpoint | undefined;
  #writing: Promise<void> | undefined;
  #failure: unknown;
  #lastWrite = -Infinity;
  #hurry = false;
  #wake: (() => void) | undefined;

  /**
   * @param path The checkpoint file.
   * @param intervalMs The least time between two saves, in milliseconds. @default {50}
   */
  constructor(path: string, intervalMs = 50) {
    this.path = path;
    this.#intervalMs = intervalMs;
  }

  /**
   * Asks for `checkpoint` to be saved; returns at once.
   *
   * @throws {Error} The failure of an earlier save (a full disk, say).
   */
  save(checkpoint: Checkpoint): void {
    if (this.#failure !== undefined) throw this.#failure;
    this.#pending = checkpoint;
    this.#writing ??= this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#pending !== undefined) {
        const wait = this.#lastWrite + this.#intervalMs - performance.now();
        if (wait > 0 && !this.#hurry) {
          const wake = new AbortController();
          this.#wake = () => wake.abort();
          await sleep(wait, wake.signal);
          this.#wake = undefined;
        }
        const next = this.#pending!;
        this.#pending = undefined;
        await writeCheckpoint(this.path, next);
        this.#lastWrite = performance.now();
      }
    } catch (error) {
      this.#failure = error;
    } finally {
      this.#writing = undefined;
    }
  }

  /**
   * Saves the newest checkpoint now, without waiting out the interval.
   *
   * @throws {Error} When a save failed.
   */
  async flush(): Promise<void> {
    this.#hurry = true;
    try {
      this.#wake?.();
      while (this.#writing) await this.#writing;
    } finally {
      this.#hurry = false;
    }
    if (this.#failure !== undefined) throw this.#failure;
  }
}
