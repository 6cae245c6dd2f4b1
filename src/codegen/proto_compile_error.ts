/**
 * The error {@linkcode generateCode} throws when buf refuses the `.proto`
 * files, with buf's diagnostics parsed into file, line and column.
 *
 * @module
 */

/** One problem buf found, e.g. `hello.proto:3:13: cannot find \`strin\` in this scope`. */
export interface ProtoDiagnostic {
  /** The `.proto` file, as buf names it. */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
  /** What is wrong. */
  message: string;
}

/** Thrown when buf cannot compile the `.proto` files (or cannot run at all). */
export class ProtoCompileError extends Error {
  /** Each `file:line:column: message` buf printed; empty when it printed none. */
  readonly diagnostics: readonly ProtoDiagnostic[];
  /** buf's whole stderr, for what the diagnostics do not cover. */
  readonly output: string;
  /**
   * Makes the error.
   *
   * @param message What failed.
   * @param diagnostics Parsed diagnostics.
   * @param output buf's stderr.
   * @param options Standard error options (`cause`).
   */
  constructor(
    message: string,
    diagnostics: readonly ProtoDiagnostic[],
    output: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ProtoCompileError";
    this.diagnostics = diagnostics;
    this.output = output;
  }
}

const DIAGNOSTIC = /^(.+?\.proto):(\d+):(\d+):\s*(.*)$/;

/**
 * Parses buf's stderr into diagnostics (lines `file:line:column:message`).
 *
 * @param text buf's stderr.
 * @returns The diagnostics, in order.
 * @example
 * ```ts
 * import { parseBufDiagnostics } from "./proto_compile_error.ts";
 * const [d] = parseBufDiagnostics("a/b.proto:3:13:cannot find `strin` in this scope\n");
 * if (d?.file !== "a/b.proto" || d.line !== 3 || d.column !== 13) throw new Error();
 * ```
 */
export function parseBufDiagnostics(text: string): ProtoDiagnostic[] {
  const out: ProtoDiagnostic[] = [];
  for (const line of text.split("\n")) {
    const match = DIAGNOSTIC.exec(line.trim());
    if (!match) continue;
    out.push({
      file: match[1]!,
      line: Number(match[2]),
      column: Number(match[3]),
      message: match[4]!,
    });
  }
  return out;
}
