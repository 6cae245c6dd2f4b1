/**
 * What `deno info --json` says of a module's graph: its `file:` modules and
 * assets, each with the module that imports it, and the hosts of its remote
 * modules; and `deno cache`, which fetches the graph first. Both answers are
 * read with a size bound and a deadline (they describe code the plugin's
 * author wrote). Internal to `src/host/` (see `module_graph.ts`).
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { denoExecutable } from "./deno_executable.ts";

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

/** What `deno info` says of a module's graph. */
export interface GraphInfo {
  /** The graph's `file:` modules and assets. */
  files: GraphFile[];
  /** `host[:port]` of every http(s) module and redirect, sorted. */
  remoteHosts: string[];
  /** Whether every module of the graph was found (none has an `error`). */
  complete: boolean;
}

/** A graph's JSON past this size is refused rather than read into memory. */
const MAX_INFO_BYTES = 64 * 1024 * 1024;
/** `deno info` on a cached graph takes well under a second; this bounds a stuck one. */
const INFO_TIMEOUT_MS = 60_000;
/** `deno cache` may download a graph: this bounds a stuck one. */
const CACHE_TIMEOUT_MS = 300_000;

/**
 * Runs `deno info --json` on a module and reads its local files.
 *
 * @param module The entry module's specifier.
 * @param cwd The directory to run in (its `deno.json` applies).
 * @param flags Resolution flags for `deno info`.
 * @param signal Aborts it.
 * @returns The graph's `file:` modules and assets, and its remote hosts.
 * @throws {Error} When `deno info` fails, says too much or says something unreadable.
 */
export async function denoInfo(
  module: string,
  cwd: string | undefined,
  flags: readonly string[],
  signal?: AbortSignal,
): Promise<GraphInfo> {
  return parseInfo(module, await denoInfoText(module, cwd, flags, signal));
}

/**
 * Runs `deno cache --allow-import` on a module: its graph, remote and npm
 * modules included, is in Deno's cache afterwards.
 *
 * @param module The entry module's specifier.
 * @param cwd The directory to run in (its `deno.json` applies).
 * @param flags Resolution flags for `deno cache`.
 * @param signal Aborts it.
 * @throws {Error} When `deno cache` fails; the message holds the end of its output.
 */
export async function denoCache(
  module: string,
  cwd: string | undefined,
  flags: readonly string[],
  signal?: AbortSignal,
): Promise<void> {
  const { stderr, status } = await runBounded(
    ["cache", "--quiet", "--allow-import", ...flags, module],
    cwd,
    CACHE_TIMEOUT_MS,
    signal,
  );
  if (status.success) return;
  const text = new TextDecoder().decode(stderr ?? new Uint8Array()).trim().split("\n");
  throw new Error(
    `Cannot cache plugin module ${module}: deno cache exited ${status.code}\n  ${
      text.slice(-5).join("\n  ")
    }`,
  );
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
  signal?: AbortSignal,
): Promise<string> {
  const { stdout, stderr, status } = await runBounded(
    ["info", "--json", ...flags, module],
    cwd,
    INFO_TIMEOUT_MS,
    signal,
  );
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
 * Runs one of deno's tools, its output read up to {@linkcode MAX_INFO_BYTES}
 * each (stdout undefined past that: the tool is killed), killed after
 * `timeoutMs` or when `signal` aborts.
 */
async function runBounded(
  args: string[],
  cwd: string | undefined,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<{ stdout?: Uint8Array; stderr?: Uint8Array; status: Deno.CommandStatus }> {
  signal?.throwIfAborted();
  const child = new Deno.Command(denoExecutable(), {
    args,
    ...(cwd === undefined ? {} : { cwd }),
    stdin: "null",
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
  const timer = setTimeout(kill, timeoutMs);
  signal?.addEventListener("abort", kill, { once: true });
  try {
    const [stdout, stderr, status] = await Promise.all([
      readBounded(child.stdout, kill),
      readBounded(child.stderr, () => {}),
      child.status,
    ]);
    signal?.throwIfAborted();
    return {
      ...(stdout === undefined ? {} : { stdout }),
      ...(stderr === undefined ? {} : { stderr }),
      status,
    };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", kill);
  }
}

/**
 * Reads `deno info --json`'s answer: every module whose specifier is a
 * `file:` URL, with the first module found importing it — except those
 * only ever imported for their types (`import type`), which `deno run`
 * does not load.
 */
function parseInfo(module: string, text: string): GraphInfo {
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
  const complete = modules.every((m) =>
    typeof (m as { error?: unknown } | null)?.error !== "string"
  );
  return { files, remoteHosts: remoteHosts(info as Record<string, unknown>, modules), complete };
}

/** The `host[:port]` of every http(s) module and redirect (source or target), sorted. */
function remoteHosts(info: Record<string, unknown>, modules: unknown[]): string[] {
  const redirects = info.redirects !== null && typeof info.redirects === "object"
    ? Object.entries(info.redirects).flat()
    : [];
  const specifiers = [
    ...modules.map((m) => (m as { specifier?: unknown } | null)?.specifier),
    ...redirects,
  ];
  const hosts = new Set<string>();
  for (const specifier of specifiers) {
    if (typeof specifier !== "string" || !/^https?:/.test(specifier)) continue;
    try {
      hosts.add(new URL(specifier).host);
    } catch {
      // not a URL: nothing to grant
    }
  }
  return [...hosts].sort();
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
