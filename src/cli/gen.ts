/**
 * `bulkhead gen <proto dir or files…> [--out DIR] [--root DIR]`: generates
 * protobuf-es code for the user's own `.proto` files. Thin: parses its
 * options, calls `src/codegen`, prints.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { relative } from "node:path";
import { generateCode } from "../codegen/generate_code.ts";
import { ProtoCompileError } from "../codegen/proto_compile_error.ts";
import { UsageError } from "./args.ts";

/** Where `bulkhead gen` writes. */
export interface GenIo {
  /** Writes text to stdout. */
  out(text: string): void;
  /** Writes text to stderr. */
  err(text: string): void;
}

/**
 * Runs `bulkhead gen` with the arguments after `gen`.
 *
 * @param argv The arguments.
 * @param signal Interrupts code generation.
 * @param io Where to print.
 * @returns The exit code: 0 written, 1 a `.proto` does not compile (or buf failed).
 * @throws {UsageError} When the command line is wrong.
 */
export async function genCommand(
  argv: readonly string[],
  signal: AbortSignal,
  io: GenIo,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        out: { type: "string", short: "o" },
        root: { type: "string" },
        quiet: { type: "boolean", short: "q" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\.$/, ""), "gen");
  }
  const { values, positionals } = parsed;
  if (positionals.length === 0) {
    throw new UsageError("No .proto input given: name a directory or .proto files", "gen");
  }
  const out = values.out ?? "gen";
  try {
    const { files } = await generateCode(positionals, {
      out,
      ...(values.root === undefined ? {} : { root: values.root }),
      signal,
    });
    if (!values.quiet) {
      const list = files.map((file) => `  ${relative(Deno.cwd(), file)}\n`).join("");
      io.out(`generated ${files.length} file${files.length === 1 ? "" : "s"}:\n${list}`);
    }
    return 0;
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(error.message, "gen");
    if (!(error instanceof ProtoCompileError)) throw error;
    io.err(`bulkhead: ${error.message}\n`);
    return 1;
  }
}
