/**
 * The local files a Deno module's graph loads, as `deno info --json` lists
 * them: modules (`.ts`, `.js`, …) and imported assets (JSON, text and bytes
 * imports), static imports and dynamic imports whose specifier is a
 * literal. Deno loads these without a read permission check, which is why
 * the host looks at them before a plugin runs (see `module_root.ts`).
 *
 * Listings are kept per host process, keyed by the entry module, its
 * working directory and the resolution flags, and revalidated by stat'ing
 * every listed file (and the configuration files Deno could have found) on
 * each use: a Supervisor restart pays a few `stat` calls, not another
 * `deno info`. A changed, added or removed file (its mtime, ctime, size or
 * inode differs) lists the graph again.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ABORTED, orAborted } from "../_timing.ts";
import { denoInfo, type GraphFile } from "./_deno_info.ts";

export type { GraphFile };

/** What {@linkcode listModuleGraph} needs. */
export interface ListGraphOptions {
  /** The directory the plugin runs in (its `deno.json` applies). */
  cwd?: string | undefined;
  /** Flags that change how Deno resolves modules (`--config`, `--import-map`, …). */
  flags?: readonly string[];
  /** Aborts the wait (a listing under way for other callers goes on). */
  signal?: AbortSignal | undefined;
}

interface Listing {
  files: GraphFile[];
  /** Every stat'ed path and what it was, to revalidate the listing. */
  stamps: Map<string, string>;
  /**
   * False when a file changed while it was being listed (or within the
   * second before: ctime has whole seconds here): then the stamps may
   * postdate what `deno info` read, and the listing is used once only.
   */
  reusable: boolean;
}

/** Graph listings are few (one per plugin module); past this many the oldest goes. */
const MAX_LISTINGS = 128;
const listings = new Map<string, Promise<Listing>>();

/**
 * Lists the local files of a module's graph, from this process's cache when
 * none of them changed.
 *
 * @param module The entry module's specifier (`file:` or `https:` URL).
 * @param options Working directory, resolution flags, signal.
 * @returns The graph's `file:` modules and assets, each with its importer.
 * @throws {Error} When `deno info` fails or says something unreadable.
 * @example
 * ```ts ignore
 * const files = await listModuleGraph("file:///srv/plugins/a/plugin.ts", { cwd: "/srv" });
 * ```
 */
export async function listModuleGraph(
  module: string,
  options: ListGraphOptions = {},
): Promise<GraphFile[]> {
  options.signal?.throwIfAborted();
  const flags = options.flags ?? [];
  const key = JSON.stringify([module, options.cwd ?? "", flags]);
  const known = listings.get(key);
  if (known) {
    const listing = await abortable(known.catch(() => undefined), options.signal);
    if (listing?.reusable && await unchanged(listing)) return listing.files;
    if (listings.get(key) === known) listings.delete(key);
  }
  let listing = listings.get(key);
  if (!listing) {
    listing = list(module, options.cwd, flags);
    listings.set(key, listing);
    listing.catch(() => listings.get(key) === listing && listings.delete(key));
    for (const old of listings.keys()) {
      if (listings.size <= MAX_LISTINGS) break;
      listings.delete(old);
    }
  }
  return (await abortable(listing, options.signal)).files;
}

/**
 * The `deno run` flags that change module resolution (configuration,
 * import map, lock file, node_modules and vendor modes, unstable features),
 * to pass to `deno info` as well.
 *
 * @param denoFlags A plugin's extra `deno run` flags.
 * @returns Those of them that change what its graph is.
 * @example
 * ```ts
 * import { resolutionFlags } from "./module_graph.ts";
 * const flags = resolutionFlags(["--v8-flags=--max-old-space-size=64", "--config", "deno.json"]);
 * if (flags.join(" ") !== "--config deno.json") throw new Error(flags.join(" "));
 * ```
 */
export function resolutionFlags(denoFlags: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < denoFlags.length; i++) {
    const flag = denoFlags[i]!;
    const name = flag.split("=")[0]!;
    if (!RESOLUTION_FLAGS.has(name) && !name.startsWith("--unstable-")) continue;
    out.push(flag);
    const next = denoFlags[i + 1];
    if (TAKES_VALUE.has(name) && !flag.includes("=") && next !== undefined) out.push(next), i++;
  }
  return out;
}

const TAKES_VALUE = new Set(["-c", "--config", "--import-map", "--node-modules-linker"]);
const RESOLUTION_FLAGS = new Set([
  ...TAKES_VALUE,
  "--no-config",
  "--lock",
  "--no-lock",
  "--frozen-lockfile",
  "--node-modules-dir",
  "--vendor",
  "--no-npm",
]);

/**
 * The files Deno may read to resolve a module: configuration files in a
 * directory or any above it (Deno looks up from the working directory and
 * from the module's).
 */
function configCandidates(cwd: string): string[] {
  const out: string[] = [];
  for (let dir = cwd;; dir = dirname(dir)) {
    for (const name of ["deno.json", "deno.jsonc", "package.json"]) out.push(`${dir}/${name}`);
    if (dirname(dir) === dir) return out;
  }
}

async function list(module: string, cwd: string | undefined, flags: readonly string[]) {
  const remote = /^https?:/.test(module);
  const startedAt = Date.now();
  const files = await denoInfo(module, cwd, [...(remote ? [] : ["--no-remote"]), ...flags]);
  const stamps = new Map<string, string>();
  const paths = [
    ...files.map((f) => f.path),
    ...configCandidates(cwd ?? Deno.cwd()),
    ...(module.startsWith("file:") ? configCandidates(dirname(fileURLToPath(module))) : []),
    ...flags.filter((f) => !f.startsWith("-")).map((f) => resolve(cwd ?? Deno.cwd(), f)),
  ];
  let reusable = true;
  // Same stamp, same file: the real path found now stays right while the listing is reused.
  await Promise.all(files.map(async (file) => file.realPath = await realPath(file.path)));
  await Promise.all(paths.map(async (path) => {
    const now = await stamp(path);
    stamps.set(path, now.stamp);
    if (now.changedMs >= startedAt - 1000) reusable = false;
  }));
  return { files, stamps, reusable };
}

async function unchanged(listing: Listing): Promise<boolean> {
  const checks = [...listing.stamps].map(async ([path, was]) => (await stamp(path)).stamp === was);
  return (await Promise.all(checks)).every(Boolean);
}

/**
 * What a file is now (a stamp that changes when it is written, replaced,
 * removed or created) and when it last changed.
 */
async function stamp(path: string): Promise<{ stamp: string; changedMs: number }> {
  try {
    const s = await Deno.stat(path);
    const mtime = s.mtime?.getTime() ?? Infinity;
    const ctime = s.ctime?.getTime() ?? Infinity;
    return {
      stamp: [s.dev, s.ino, s.size, mtime, ctime].join(":"),
      changedMs: Math.max(mtime, ctime),
    };
  } catch {
    return { stamp: "missing", changedMs: 0 };
  }
}

/**
 * A path with symlinks resolved, or the path itself when it does not exist
 * (Deno then fails to load it anyway).
 *
 * @param path A path.
 * @returns The real path.
 */
export async function realPath(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch {
    return path;
  }
}

async function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return await promise;
  const result = await orAborted(promise, signal);
  if (result === ABORTED) throw signal.reason;
  return result;
}
