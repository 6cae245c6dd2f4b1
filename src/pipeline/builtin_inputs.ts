/**
 * The built-in inputs: `stdin` and `file` (one message per line) and
 * `generate` (numbered messages from templates, with an optional count and
 * rate).
 *
 * @module
 */
import { create } from "../npm/protobuf.ts";
import { ABORTED, orAborted, sleep } from "../_timing.ts";
import { type Message, MessageSchema } from "../gen/redpanda/runtime/v1alpha1/message_pb.ts";
import type { InputChunk, PipelineInput } from "./input.ts";

const encoder = new TextEncoder();
const noAck = () => Promise.resolve();

function message(bytes: Uint8Array): Message {
  return create(MessageSchema, { payload: { case: "bytes", value: bytes } });
}

/** Options of {@linkcode generateInput}. */
export interface GenerateOptions {
  /** How many messages; unlimited when undefined. */
  count: number | undefined;
  /** Messages per second; unlimited when undefined. */
  rate: number | undefined;
  /** Templates, cycled; `${! i }` becomes the message's number (from 1). */
  messages: readonly string[];
  /** Largest chunk. @default {1000} */
  chunk?: number;
  /** Messages to skip (a resumed run): the first message is then number `skip + 1`. @default {0} */
  skip?: number;
}

/**
 * Generates numbered messages.
 *
 * @param options Count, rate and templates.
 * @returns The input.
 * @example
 * ```ts
 * import { generateInput } from "./builtin_inputs.ts";
 * const input = generateInput({ count: 3, rate: undefined, messages: ["m${! i }"] });
 * const chunk = await input.read(new AbortController().signal);
 * if (chunk?.messages.length !== 3) throw new Error();
 * ```
 */
/** The message counter in a template: `${! i }` (spaces optional), Redpanda Connect's dynamic syntax. */
const COUNTER = /\$\{!\s*i\s*\}/;

export function generateInput(options: GenerateOptions): PipelineInput {
  const templates = options.messages.map((t) => t.split(COUNTER));
  const chunk = options.chunk ?? 1000;
  let next = (options.skip ?? 0) + 1;
  const first = next;
  let startedAt: number | undefined;
  return {
    name: "generate",
    async read(signal) {
      if (signal.aborted) return null;
      const left = options.count === undefined ? chunk : options.count - next + 1;
      if (left <= 0) return null;
      let take = Math.min(chunk, left);
      if (options.rate !== undefined) {
        startedAt ??= performance.now();
        // the message numbered `next` is due at startedAt + (next - 1) / rate
        const dueAt = startedAt + ((next - first) / options.rate) * 1000;
        const wait = dueAt - performance.now();
        if (wait > 0 && !await sleep(wait, signal)) return null;
        const elapsed = (performance.now() - startedAt) / 1000;
        take = Math.max(1, Math.min(take, Math.floor(elapsed * options.rate) - (next - first) + 1));
      }
      const messages: Message[] = [];
      for (let k = 0; k < take; k++, next++) {
        const parts = templates[(next - 1) % templates.length]!;
        messages.push(message(encoder.encode(parts.join(String(next)))));
      }
      return { messages, ack: noAck };
    },
    close: () => Promise.resolve(),
  };
}

/**
 * Reads lines (one message each, without the newline) from a byte stream:
 * every chunk holds the complete lines of one read, at most `chunk` of them.
 *
 * @param name The input's name.
 * @param open Opens the stream on the first read.
 * @param options The largest chunk (default 1000), lines to skip first (a resumed run).
 * @returns The input.
 * @example
 * ```ts
 * import { linesInput } from "./builtin_inputs.ts";
 * const input = linesInput("test", () => Promise.resolve(ReadableStream.from([new TextEncoder().encode("a\nb\n")])));
 * const chunk = await input.read(new AbortController().signal);
 * if (chunk?.messages.length !== 2) throw new Error();
 * await input.close();
 * ```
 */
export function linesInput(
  name: string,
  open: () => Promise<ReadableStream<Uint8Array>>,
  options: { chunk?: number; skip?: number } = {},
): PipelineInput {
  const chunk = options.chunk ?? 1000;
  let skip = options.skip ?? 0;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
  let rest = new Uint8Array();
  const lines: Uint8Array[] = [];
  let ended = false;
  let closed = false;
  const split = (bytes: Uint8Array) => {
    let start = 0;
    for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, start)) {
      let end = i;
      if (end > start && bytes[end - 1] === 13) end--; // CRLF
      if (skip > 0) skip--;
      else lines.push(bytes.slice(start, end));
      start = i + 1;
    }
    return bytes.slice(start);
  };
  return {
    name,
    async read(signal): Promise<InputChunk | null> {
      while (lines.length === 0 && !ended) {
        if (signal.aborted || closed) return null;
        reader ??= (await open()).getReader();
        pending ??= reader.read();
        const result = await orAborted(pending, signal);
        if (result === ABORTED) return null;
        pending = undefined;
        if (result.done) {
          ended = true;
          if (rest.length > 0 && skip === 0) lines.push(rest);
          break;
        }
        const joined = new Uint8Array(rest.length + result.value.length);
        joined.set(rest);
        joined.set(result.value, rest.length);
        rest = split(joined);
      }
      if (lines.length === 0) return null;
      const taken = lines.splice(0, chunk);
      return { messages: taken.map(message), ack: noAck };
    },
    async close() {
      if (closed) return;
      closed = true;
      await reader?.cancel().catch(() => {});
    },
  };
}

/**
 * Reads lines from a file.
 *
 * @param path The file.
 * @param skip Lines to skip first (a resumed run).
 * @returns The input.
 */
export function fileInput(path: string, skip = 0): PipelineInput {
  return linesInput(`file ${path}`, async () => (await Deno.open(path)).readable, { skip });
}

/**
 * Reads lines from standard input.
 *
 * @returns The input.
 */
export function stdinInput(): PipelineInput {
  return linesInput("stdin", () => Promise.resolve(Deno.stdin.readable));
}
