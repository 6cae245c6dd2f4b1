/**
 * Code generation for a user's own `.proto` files: buf and protoc-gen-es,
 * both from npm at Bulkhead's pinned versions, run by Deno. The generated
 * `*_pb.ts` files import `npm:@bufbuild/protobuf@<pinned>` by full specifier,
 * so they resolve in any project without an import map and share the one
 * protobuf-es that Bulkhead itself loads.
 *
 * @module
 */
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { denoExecutable } from "../host/deno_command.ts";
import { PROTOBUF_ES_VERSION } from "../npm/versions.ts";
import { BufLaunchError, type BufOutcome, QUIET_RUN, runBuf } from "./buf.ts";
import { ProtoCompileError } from "./proto_compile_error.ts";

/** Options for {@linkcode generateCode}. */
export interface GenerateOptions {
  /** The directory the `*_pb.ts` files go to (created if missing), one per `.proto`. */
  out: string;
  /**
   * The import root of `.proto` files given one by one: their generated
   * paths and `import "…"` statements are relative to it.
   *
   * @default the directory of each file
   */
  root?: string;
  /** Aborts the generation (buf is killed). */
  signal?: AbortSignal;
}

/** What {@linkcode generateCode} wrote. */
export interface GenerateResult {
  /** The generated files, absolute, sorted. */
  files: string[];
}

const RUNTIME = `npm:@bufbuild/protobuf@${PROTOBUF_ES_VERSION}`;

/**
 * Generates protobuf-es code (`target=ts`) for `.proto` files: each input is
 * a directory (every `.proto` under it, imports relative to it) or a
 * `.proto` file. Nothing is written unless every file compiles. Needs the
 * npm registry (or Deno's cache) for buf and protoc-gen-es, nothing else.
 *
 * @param inputs Directories and `.proto` files.
 * @param options Where to write, the import root of single files, a signal.
 * @returns The files written.
 * @throws {ProtoCompileError} When a `.proto` does not compile (with buf's
 *   `file:line:column` diagnostics) or buf cannot run.
 * @throws {TypeError} When there is no input, or an input is neither a
 *   directory nor a `.proto` file.
 * @example
 * ```ts ignore
 * import { generateCode } from "./gen.ts";
 * const { files } = await generateCode(["proto"], { out: "gen" });
 * ```
 */
export async function generateCode(
  inputs: readonly string[],
  options: GenerateOptions,
): Promise<GenerateResult> {
  options.signal?.throwIfAborted();
  if (inputs.length === 0) throw new TypeError("Cannot generate code: no .proto input given");
  const runs = await planRuns(inputs, options.root);
  const staging = await Deno.makeTempDir({ prefix: "bulkhead-gen-" });
  try {
    for (const run of runs) await generate(run, staging, options.signal);
    const out = resolve(options.out);
    const files: string[] = [];
    for await (const path of walk(staging)) {
      const target = join(out, relative(staging, path));
      await Deno.mkdir(dirname(target), { recursive: true });
      await Deno.copyFile(path, target);
      files.push(target);
    }
    return { files: files.sort() };
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
}

/** One buf invocation: an input directory and, for single files, their paths. */
interface BufRun {
  root: string;
  paths: string[];
}

async function planRuns(inputs: readonly string[], root: string | undefined): Promise<BufRun[]> {
  const dirs: BufRun[] = [];
  const byRoot = new Map<string, string[]>();
  for (const input of inputs) {
    const path = resolve(input);
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (error) {
      throw new TypeError(`Cannot generate code: ${input} not found`, { cause: error });
    }
    if (info.isDirectory) {
      dirs.push({ root: path, paths: [] });
    } else if (path.endsWith(".proto")) {
      const fileRoot = root === undefined ? dirname(path) : resolve(root);
      const rel = relative(fileRoot, path);
      if (rel.startsWith("..") || isAbsolute(rel)) {
        throw new TypeError(`Cannot generate code: ${input} is not inside --root ${root}`);
      }
      const paths = byRoot.get(fileRoot) ?? [];
      paths.push(path);
      byRoot.set(fileRoot, paths);
    } else {
      throw new TypeError(
        `Cannot generate code: ${input} is neither a directory nor a .proto file`,
      );
    }
  }
  return [...dirs, ...[...byRoot].map(([dir, paths]) => ({ root: dir, paths }))];
}

async function generate(run: BufRun, out: string, signal: AbortSignal | undefined): Promise<void> {
  const template = {
    version: "v2",
    plugins: [{
      local: [
        denoExecutable(),
        ...QUIET_RUN,
        "--allow-read",
        "--allow-env",
        `npm:@bufbuild/protoc-gen-es@${PROTOBUF_ES_VERSION}`,
      ],
      out: ".",
      opt: [
        "target=ts",
        "import_extension=ts",
        ...["", "/codegenv2", "/wkt"].map((sub) =>
          `rewrite_imports=@bufbuild/protobuf${sub}:${RUNTIME}${sub}`
        ),
      ],
    }],
  };
  let outcome: BufOutcome;
  try {
    outcome = await runBuf({
      command: ["generate"],
      root: run.root,
      paths: run.paths,
      tail: ["--template", JSON.stringify(template), "-o", out],
      signal,
    });
  } catch (error) {
    if (!(error instanceof BufLaunchError)) throw error;
    throw new ProtoCompileError(`Cannot generate code: ${error.message}`, [], "", {
      cause: error,
    });
  }
  if (outcome.ok) return;
  throw new ProtoCompileError(
    outcome.diagnostics.length > 0
      ? `Cannot generate code: the .proto files do not compile\n  ${outcome.detail.join("\n  ")}`
      : `Cannot generate code: buf exited with code ${outcome.code}\n  ${
        outcome.detail.join("\n  ")
      }`,
    outcome.diagnostics,
    outcome.output,
  );
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* walk(path);
    else if (entry.isFile) yield path;
  }
}
