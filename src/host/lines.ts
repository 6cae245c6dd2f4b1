/**
 * Splits a byte stream into text lines, with a bound on line length so a
 * plugin that never prints a newline cannot grow the host's memory.
 *
 * @module
 */

/** Longest line kept whole; longer lines are cut into pieces of this size. */
export const MAX_LINE_CHARS = 16 * 1024;

/**
 * Yields the lines of a byte stream, without their `\n` (or `\r\n`). The last
 * line is yielded even without a newline. Stops quietly when the stream
 * errors (a killed process's pipe).
 *
 * @param stream Bytes, e.g. a child process's stderr.
 * @returns The lines.
 * @example
 * ```ts
 * import { readLines } from "./lines.ts";
 * const stream = new Blob(["a\nb\r\nc"]).stream();
 * const lines = await Array.fromAsync(readLines(stream));
 * if (lines.join() !== "a,b,c") throw new Error();
 * ```
 */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  try {
    while (true) {
      let chunk: ReadableStreamReadResult<string>;
      try {
        chunk = await reader.read();
      } catch {
        break;
      }
      if (chunk.done) break;
      pending += chunk.value;
      let start = 0;
      while (true) {
        const nl = pending.indexOf("\n", start);
        if (nl < 0) break;
        yield trimCr(pending.slice(start, nl));
        start = nl + 1;
      }
      pending = pending.slice(start);
      while (pending.length > MAX_LINE_CHARS) {
        yield pending.slice(0, MAX_LINE_CHARS);
        pending = pending.slice(MAX_LINE_CHARS);
      }
    }
    if (pending !== "") yield trimCr(pending);
  } finally {
    await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

function trimCr(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

/** Keeps the last `size` lines it was given. */
export class LineTail {
  #lines: string[] = [];
  #size: number;
  /** @param size How many lines to keep. */
  constructor(size: number) {
    this.#size = size;
  }
  /** Adds a line, dropping the oldest past the size. */
  push(line: string): void {
    this.#lines.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
    if (this.#lines.length > this.#size) this.#lines.shift();
  }
  /** The kept lines, oldest first. */
  lines(): string[] {
    return [...this.#lines];
  }
}
