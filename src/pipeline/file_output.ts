/**
 * The `file` output, durable: each batch is written with one write, then
 * `fdatasync`, and only then does `write` resolve (and the engine
 * acknowledge the batch). Batches in flight are written in order while an
 * earlier one syncs, and share the next sync (group commit). A crash mid-write can leave at most a torn last
 * line, which the next start that keeps the file (`mode: append`,
 * `--resume`) finds and cuts, saying how many bytes it removed.
 *
 * What happens to a file that is already there is the `mode`:
 * - `new` (the default): refuse one that is not empty, naming the field
 *   to set — a run never silently destroys an earlier run's output;
 * - `append`: keep it and write after it;
 * - `truncate`: empty it, once everything else has started.
 *
 * @module
 */
import type { Message } from "../gen/redpanda/runtime/v1alpha1/message_pb.ts";
import { type PipelineOutput, serializeLines } from "./output.ts";

/** What to do with a file that already has content. */
export type FileMode = "new" | "append" | "truncate";

/** A file output that would overwrite a non-empty file (`mode: new`). */
export class OutputFileExistsError extends Error {
  /** The file. */
  readonly path: string;
  /**
   * Makes the error; its message names the field to set.
   *
   * @param path The file.
   * @param bytes What it holds.
   * @param field The configuration field that decides (`output.file.mode`).
   */
  constructor(path: string, bytes: number, field: string) {
    super(
      `Cannot write to ${path}: it already holds ${bytes} bytes; set ${field} to append ` +
        `(write after them) or truncate (replace them), or run with --resume to continue an ` +
        `interrupted run`,
    );
    this.name = "OutputFileExistsError";
    this.path = path;
  }
}

/** Options for {@linkcode FileOutput.open}. */
export interface FileOutputOptions {
  /** What to do with content already there. @default {"new"} */
  mode?: FileMode;
  /** The field that sets the mode, for errors. @default {"output.file.mode"} */
  field?: string;
  /**
   * Resuming: the length the file had at the last checkpoint. Anything after
   * it (batches written but not checkpointed, a torn line) is cut.
   */
  resumeAt?: number;
  /** Told what was cut, and why. */
  onNotice?: (text: string) => void;
}

/** The size of a file, or 0 when there is none. */
async function sizeOf(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
}

/**
 * Checks, without touching it, that a file output may be opened in its mode.
 *
 * @param path The file.
 * @param options Mode and field.
 * @throws {OutputFileExistsError} When `mode` is `new` and the file is not empty.
 */
export async function checkFileOutput(path: string, options: FileOutputOptions): Promise<void> {
  if (options.resumeAt !== undefined || (options.mode ?? "new") !== "new") return;
  const bytes = await sizeOf(path);
  if (bytes > 0) throw new OutputFileExistsError(path, bytes, options.field ?? "output.file.mode");
}

/** Where the last complete line of a file ends (0 when none does). */
async function lastLineEnd(file: Deno.FsFile, size: number): Promise<number> {
  const chunk = new Uint8Array(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    await file.seek(start, Deno.SeekMode.Start);
    let read = 0;
    while (read < end - start) {
      const n = await file.read(chunk.subarray(read, end - start));
      if (n === null) break;
      read += n;
    }
    const at = chunk.subarray(0, read).lastIndexOf(10);
    if (at >= 0) return start + at + 1;
    end = start;
  }
  return 0;
}

/** A durable line file: see the module documentation. */
export class FileOutput implements PipelineOutput {
  readonly name: string;
  readonly path: string;
  /** Calls of `write` may overlap: batches are written in call order. */
  readonly ordered = true;
  readonly #file: Deno.FsFile;
  /** Where the next batch goes: the end of every batch handed to `write`. */
  #queuedEnd: number;
  /** The end of the bytes written so far. */
  #writtenEnd: number;
  /** The end of the bytes on disk (synced). */
  #durableEnd: number;
  /** The chain of writes, in call order; a failed write fails every later one. */
  #writing: Promise<void> = Promise.resolve();
  #syncing: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  private constructor(path: string, file: Deno.FsFile, size: number) {
    this.name = `file ${path}`;
    this.path = path;
    this.#file = file;
    this.#queuedEnd = size;
    this.#writtenEnd = size;
    this.#durableEnd = size;
  }

  /**
   * Opens (creates, truncates, or repairs) a file output.
   *
   * @param path The file.
   * @param options Mode, resume point, notices.
   * @returns The output, positioned at its end.
   * @throws {OutputFileExistsError} When `mode` is `new` and the file is not empty.
   * @throws {RangeError} When resuming and the file is shorter than its checkpoint says.
   * @example
   * ```ts ignore
   * const output = await FileOutput.open("out.txt", { mode: "append" });
   * ```
   */
  static async open(path: string, options: FileOutputOptions = {}): Promise<FileOutput> {
    await checkFileOutput(path, options);
    const truncate = options.resumeAt === undefined && options.mode === "truncate";
    const file = await Deno.open(path, { read: true, write: true, create: true, truncate });
    try {
      let size = (await file.stat()).size;
      if (options.resumeAt !== undefined) {
        if (size < options.resumeAt) {
          throw new RangeError(
            `Cannot resume writing ${path}: it holds ${size} bytes, fewer than the ` +
              `${options.resumeAt} its checkpoint records; it was changed since (start afresh ` +
              `without --resume)`,
          );
        }
        if (size > options.resumeAt) {
          options.onNotice?.(
            `${path}: cut ${size - options.resumeAt} bytes written after the last checkpoint ` +
              `(they are written again)`,
          );
          await file.truncate(options.resumeAt);
          size = options.resumeAt;
        }
      } else if (size > 0) {
        const end = await lastLineEnd(file, size);
        if (end < size) {
          options.onNotice?.(
            `${path}: cut a torn last line of ${size - end} bytes (left by an earlier crash)`,
          );
          await file.truncate(end);
          size = end;
        }
      }
      await file.syncData();
      await file.seek(size, Deno.SeekMode.Start);
      return new FileOutput(path, file, size);
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /** Bytes on disk: the file's length after the last batch synced. */
  get size(): number {
    return this.#durableEnd;
  }

  /** Writes a batch as lines; resolves once it is on disk (`fdatasync`). */
  async write(messages: readonly Message[]): Promise<void> {
    await this.writeBatch(messages);
  }

  /**
   * Writes a batch as lines after every batch handed over before it, then
   * syncs; one `fdatasync` covers every batch written by the time it starts
   * (group commit), so batches in flight share it.
   *
   * @param messages The batch.
   * @returns The file's length at the end of this batch, once it is on disk.
   */
  writeBatch(messages: readonly Message[]): Promise<number> {
    let bytes = messages.length === 0 ? new Uint8Array() : serializeLines(messages);
    const end = this.#queuedEnd + bytes.length;
    this.#queuedEnd = end;
    this.#writing = this.#writing.then(async () => {
      while (bytes.length > 0) bytes = bytes.subarray(await this.#file.write(bytes));
      this.#writtenEnd = end;
    });
    return this.#writing.then(() => this.#syncTo(end)).then(() => end);
  }

  async #syncTo(end: number): Promise<void> {
    while (this.#durableEnd < end) {
      if (this.#syncing === undefined) {
        const target = this.#writtenEnd;
        this.#syncing = this.#file.syncData().then(
          () => {
            this.#durableEnd = Math.max(this.#durableEnd, target);
          },
        ).finally(() => this.#syncing = undefined);
      }
      await this.#syncing;
    }
  }

  /** Syncs and closes the file. Idempotent. */
  close(): Promise<void> {
    return this.#closing ??= (async () => {
      await this.#writing.catch(() => {});
      await this.#syncing?.catch(() => {});
      await this.#file.syncData().catch(() => {});
      this.#file.close();
    })();
  }
}
