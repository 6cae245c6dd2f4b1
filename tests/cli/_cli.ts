/**
 * Runs the `bulkhead` command line as a subprocess, as a user would.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

/** What a finished command left. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno run -A cli.ts …` in the repository root, with `stdin` as its input. */
export async function cli(args: readonly string[], stdin?: string): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli.ts", ...args],
    cwd: ROOT,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** Reads a stream's text until `pattern` matches what came so far; the reader stays usable. */
export async function readUntil(
  reader: ReadableStreamDefaultReader<string>,
  seen: { text: string },
  pattern: RegExp,
): Promise<void> {
  while (!pattern.test(seen.text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before ${pattern}; got:\n${seen.text}`);
    seen.text += value;
  }
}
