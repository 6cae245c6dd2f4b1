/**
 * Runs the buf Bulkhead pins (from npm, through Deno) on a directory of
 * `.proto` files, and turns a failure into lines a user can act on: buf's
 * `file:line:column` diagnostics with paths relative to the working
 * directory, or else the last lines it printed.
 *
 * @module
 */
import { isAbsolute, relative } from "node:path";
import { denoExecutable } from "../host/deno_command.ts";
import { BUF_VERSION } from "../npm/versions.ts";
import { parseBufDiagnostics, type ProtoDiagnostic } from "./proto_compile_error.ts";

/** Flags that keep `deno run` of an npm tool quiet and independent of the user's project. */
export const QUIET_RUN: readonly string[] = ["run", "--quiet", "--no-config", "--no-lock"];

/** What one buf run is given. */
export interface BufInvocation {
  /** buf's subcommand and its own flags, e.g. `["build"]`, placed before the input. */
  command: string[];
  /** The input directory (buf's module root); also the working directory. */
  root: string;
  /** Single files under `root` to limit buf to (`--path`); none: the whole directory. */
  paths: readonly string[];
  /** Arguments after the input and paths, e.g. `["-o", "-"]`. */
  tail: string[];
  /** Kills buf. */
  signal?: AbortSignal | undefined;
}

/** How buf ended. */
export type BufOutcome =
  | { ok: true; stdout: Uint8Array }
  | {
    ok: false;
    /** buf's exit code. */
    code: number;
    /** buf's stderr then stdout, as text. */
    output: string;
    /** The diagnostics in it, paths shown relative to the working directory. */
    diagnostics: ProtoDiagnostic[];
    /** Lines for the user: one per diagnostic, or else buf's last lines. */
    detail: string[];
  };

/** Thrown when Deno cannot run buf at all (not when buf fails). */
export class BufLaunchError extends Error {
  /**
   * @param message Why buf did not run.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BufLaunchError";
  }
}

/**
 * Runs `buf <command> <root> [--path P]… <tail>` with Deno.
 *
 * @example
 * ```ts ignore
 * const outcome = await runBuf({ command: ["build"], root: "proto", paths: [], tail: ["-o", "-"] });
 * if (!outcome.ok) console.error(outcome.detail.join("\n"));
 * ```
 */
export async function runBuf(run: BufInvocation): Promise<BufOutcome> {
  const deno = denoExecutable();
  let result: Deno.CommandOutput;
  try {
    result = await new Deno.Command(deno, {
      args: [
        ...QUIET_RUN,
        "-A",
        `npm:@bufbuild/buf@${BUF_VERSION}`,
        ...run.command,
        run.root,
        ...run.paths.flatMap((path) => ["--path", path]),
        ...run.tail,
      ],
      cwd: run.root,
      env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      stdout: "piped",
      stderr: "piped",
      ...(run.signal ? { signal: run.signal } : {}),
    }).output();
  } catch (error) {
    run.signal?.throwIfAborted();
    const message = error instanceof Error ? error.message : String(error);
    throw new BufLaunchError(`cannot run ${deno} for buf: ${message}`, { cause: error });
  }
  if (result.success) return { ok: true, stdout: result.stdout };
  run.signal?.throwIfAborted();
  const decoder = new TextDecoder();
  const output = decoder.decode(result.stderr) + decoder.decode(result.stdout);
  const diagnostics = parseBufDiagnostics(output).map((d) => ({ ...d, file: displayPath(d.file) }));
  const detail = diagnostics.length > 0
    ? diagnostics.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`)
    : output.split("\n").filter((line) => line.trim() && !/^Download /.test(line)).slice(-8);
  return { ok: false, code: result.code, output, diagnostics, detail };
}

/** A path relative to the working directory when it is inside it. */
function displayPath(path: string): string {
  if (!isAbsolute(path)) return path;
  const rel = relative(Deno.cwd(), path);
  return rel.startsWith("..") ? path : rel;
}
