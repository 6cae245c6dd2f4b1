/**
 * What `deno info --json` says of a module's graph: its `file:` modules and
 * assets, each with the module that imports it. The answer is read with a
 * size bound and a deadline (it describes code the plugin's author wrote).
 * Internal to `src/host/` (see `module_graph.ts`).
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { denoExecutable } from "./deno_command.ts";

/** One local file in a module graph. */
export interface GraphFile {
  /** Its specifier, a `file:` URL. */
  specifier: string;
  /** Its path as Deno opens it. */
  path: string;
  /** Its path with symlinks resolved (the path itself when it does not exist). */
  realPath: string;
  /** The module that imports it (a specifier); undefined for the entry module. */
  importer: string | undefined;
}

/** A graph's JSON past this size is refused rather than read into memory. */
const MAX_INFO_BYTES = 64 * 1024 * 1024;
/** `deno info` on a cached graph takes well under a second; this bounds a stuck one. */
const INFO_TIMEOUT_MS = 60_000;

/**
 * Runs `deno info --json` on a module and reads its local files.
 *
 * @param module The entry module's specifier.
 * @param cwd The directory to run in (its `deno.json` applies).
 * @param flags Resolution flags for `deno info`.
 * @returns The graph's `file:` modules and assets.
 * @throws {Error} When `deno info` fails, says too much or says something unreadable.
 */
export async function denoInfo(
  module: string,
  cwd: string | undefined,
  flags: readonly string[],
): Promise<GraphFile[]> {
  return parseInfo(module, await denoInfoText(module, cwd, flags));
}

/**
 * Runs `deno info --json` on a module and returns its answer as it is.
 *
 * @param module The entry module's specifier.
 * @param cwd The directory to run in (its `deno.json` applies).
 * @param flags Flags for `deno info`.
 * @returns The JSON text.
 * @throws {Error} When `deno info` fails or says too much.
 */
export async function denoInfoText(
  module: string,
  cwd: string | undefined,
  flags: readonly string[],
): Promise<string> {
  const child = new Deno.Command(denoExecutable(), {
    args: ["info", "--json", ...flags, module],
    ...(cwd === undefined ? {} : { cwd }),
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
  }).spawn();
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  };
  const timer = setTimeout(kill, INFO_TIMEOUT_MS);
  let stdout: Uint8Array | undefined, stderr: Uint8Array | undefined, status: Deno.CommandStatus;
  try {
    [stdout, stderr, status] = await Promise.all([
      readBounded(child.stdout, kill),
      readBounded(child.stderr, () => {}),
      child.status,
    ]);
  } finally {
    clearTimeout(timer);
  }
  if (!status.success || stdout === undefined) {
    const text = new TextDecoder().decode(stderr ?? new Uint8Array()).trim().split("\n");
    throw new Error(
      `Cannot list the module graph of ${module}: deno info ${
        stdout === undefined ? `printed more than ${MAX_INFO_BYTES} bytes` : `exited ${status.code}`
      }\n  ${text.slice(-5).join("\n  ")}`,
    );
  }
  return new TextDecoder().decode(stdout);
}

/**
 * Reads `deno info --json`'s answer: every module whose specifier is a
 * `file:` URL, with the first module found importing it — except those
 * only ever imported for their types (`import type`), which `deno run`
 * does not load.
 */
function parseInfo(module: string, text: string): GraphFile[] {
  let info: unknown;
  try {
    info = JSON.parse(text);
  } catch (error) {
    throw new Error(`Cannot list the module graph of ${module}: deno info printed no JSON`, {
      cause: error,
    });
  }
  const modules = (info as { modules?: unknown })?.modules;
  if (!Array.isArray(modules)) {
    throw new Error(`Cannot list the module graph of ${module}: deno info listed no modules`);
  }
  const importers = new Map<string, string>(); // by code
  const typeImporters = new Map<string, string>(); // by types only
  for (const entry of modules as Record<string, unknown>[]) {
    if (!Array.isArray(entry?.dependencies) || typeof entry.specifier !== "string") continue;
    for (const dependency of entry.dependencies as Record<string, unknown>[]) {
      const sides: [unknown, Map<string, string>][] = [
        [dependency?.code, importers],
        [dependency?.type, typeImporters],
      ];
      for (const [side, map] of sides) {
        const target = (side as { specifier?: unknown } | undefined)?.specifier;
        if (typeof target === "string" && !map.has(target)) map.set(target, entry.specifier);
      }
    }
  }
  const roots = (info as { roots?: unknown }).roots;
  const isRoot = (specifier: string) => Array.isArray(roots) && roots.includes(specifier);
  const files: GraphFile[] = [];
  for (const entry of modules as Record<string, unknown>[]) {
    const specifier = entry?.specifier;
    if (typeof specifier !== "string" || !specifier.startsWith("file:")) continue;
    const importer = importers.get(specifier);
    // kept when in doubt: dropped only when imported, and for its types alone
    if (importer === undefined && typeImporters.has(specifier) && !isRoot(specifier)) continue;
    const path = typeof entry.local === "string" ? entry.local : fileURLToPath(specifier);
    files.push({
      specifier,
      path,
      realPath: path,
      importer: importer ?? typeImporters.get(specifier),
    });
  }
  return files;
}

async function readBounded(
  stream: ReadableStream<Uint8Array>,
  onOverflow: () => void,
): Promise<Uint8Array | undefined> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > MAX_INFO_BYTES) {
      onOverflow();
      return undefined; // leaving the loop cancels the stream
    }
    chunks.push(chunk);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) out.set(chunk, at), at += chunk.length;
  return out;
}
