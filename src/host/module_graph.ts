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
 * inode differs) lists the graph again. The same listing gives the hosts of
 * the graph's remote modules (for the plugin's `--allow-import`), so a
 * start runs `deno info` once for both.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ABORTED, orAborted } from "../_timing.ts";
import { denoInfo, type GraphFile, type GraphInfo } from "./_deno_info.ts";

export type { GraphFile, GraphInfo };

/** What {@linkcode listModuleGraph} needs. */
export interface ListGraphOptions {
  /** The directory the plugin runs in (its `deno.json` applies). */
  cwd?: string | undefined;
  /** Flags that change how Deno resolves modules (`--config`, `--import-map`, …). */
  flags?: readonly string[];
  /**
   * Aborts the wait, and the listing's `deno info` when this caller started
   * it (other callers waiting for it then list again).
   */
  signal?: AbortSignal | undefined;
}

interface Listing extends GraphInfo {
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
/** A listing under way or done, and the signal of the caller who started it. */
interface ListingEntry {
  listing: Promise<Listing>;
  signal: AbortSignal | undefined;
}
const listings = new Map<string, ListingEntry>();

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
  return (await moduleGraph(module, options)).files;
}

/**
 * Lists a module's graph (its local files and the hosts of its remote
 * modules), from this process's cache when none of its files changed. The
 * listing runs `deno info --allow-import`, which fetches what Deno's cache
 * lacks: npm packages it keeps in the cache, remote modules it does not
 * (`deno cache` does). A listing with a module missing is not reused.
 *
 * @param module The entry module's specifier (`file:` or `https:` URL).
 * @param options Working directory, resolution flags, signal (which stops
 *   the listing's `deno info` when this caller started it; others waiting
 *   for it then list again).
 * @returns The graph's `file:` modules and assets, and its remote hosts.
 * @throws {Error} When `deno info` fails or says something unreadable.
 * @example
 * ```ts ignore
 * const { remoteHosts } = await moduleGraph("file:///srv/plugins/a/plugin.ts", { cwd: "/srv" });
 * ```
 */
export async function moduleGraph(
  module: string,
  options: ListGraphOptions = {},
): Promise<GraphInfo> {
  const signal = options.signal;
  signal?.throwIfAborted();
  const flags = options.flags ?? [];
  const key = JSON.stringify([module, options.cwd ?? "", flags]);
  const known = listings.get(key);
  if (known) {
    const listing = await abortable(known.listing.catch(() => undefined), signal);
    if (listing?.reusable && unchanged(listing)) return listing;
    if (listings.get(key) === known) listings.delete(key);
  }
  for (;;) {
    let entry = listings.get(key);
    if (!entry) {
      // the caller who starts the listing may abort it (its `deno info` is killed)
      const listing = list(module, options.cwd, flags, signal);
      const started: ListingEntry = { listing, signal };
      entry = started;
      listings.set(key, started);
      listing.catch(() => listings.get(key) === started && listings.delete(key));
      for (const old of listings.keys()) {
        if (listings.size <= MAX_LISTINGS) break;
        listings.delete(old);
      }
    }
    try {
      // a caller who started the listing waits for it to end: its abort kills
      // the `deno info`, which is reaped before this rejects (nothing outlives
      // the start); a caller who joined another's listing stops waiting at once
      if (signal === undefined || entry.signal !== signal) {
        return await abortable(entry.listing, signal);
      }
      const listing = await entry.listing;
      signal.throwIfAborted();
      return listing;
    } catch (error) {
      // another caller's abort ended the listing we waited for: list again
      if (signal?.aborted || !entry.signal?.aborted || entry.signal === signal) throw error;
    }
  }
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

async function list(
  module: string,
  cwd: string | undefined,
  flags: readonly string[],
  signal: AbortSignal | undefined,
): Promise<Listing> {
  const startedAt = Date.now();
  // remote modules are read from the cache (`deno cache` ran first), for their hosts
  const { files, remoteHosts, complete } = await denoInfo(
    module,
    cwd,
    ["--allow-import", ...flags],
    signal,
  );
  const stamps = new Map<string, string>();
  const paths = [
    ...files.map((f) => f.path),
    ...configCandidates(cwd ?? Deno.cwd()),
    ...(module.startsWith("file:") ? configCandidates(dirname(fileURLToPath(module))) : []),
    ...flags.filter((f) => !f.startsWith("-")).map((f) => resolve(cwd ?? Deno.cwd(), f)),
  ];
  let reusable = complete; // a module missing now may be there once `deno cache` ran
  // Same stamp, same file: the real path found now stays right while the listing is reused.
  await Promise.all(files.map(async (file) => file.realPath = await realPath(file.path)));
  await Promise.all(paths.map(async (path) => {
    const now = await stamp(path);
    stamps.set(path, now.stamp);
    if (now.changedMs >= startedAt - 1000) reusable = false;
  }));
  return { files, remoteHosts, complete, stamps, reusable };
}

/**
 * Whether no listed file changed. Synchronous `stat` calls: a start checks
 * ~100-200 paths twice (the launch's `--allow-import` hosts, then the module
 * root check), which as async ops cost 10-30 ms of a restart under load,
 * and synchronously well under a millisecond on a local disk.
 */
function unchanged(listing: Listing): boolean {
  for (const [path, was] of listing.stamps) {
    if (stampSync(path) !== was) return false;
  }
  return true;
}

function stampSync(path: string): string {
  try {
    return stampOf(Deno.statSync(path)).stamp;
  } catch {
    return "missing";
  }
}

/**
 * What a file is now (a stamp that changes when it is written, replaced,
 * removed or created) and when it last changed.
 */
async function stamp(path: string): Promise<{ stamp: string; changedMs: number }> {
  try {
    return stampOf(await Deno.stat(path));
  } catch {
    return { stamp: "missing", changedMs: 0 };
  }
}

function stampOf(s: Deno.FileInfo): { stamp: string; changedMs: number } {
  const mtime = s.mtime?.getTime() ?? Infinity;
  const ctime = s.ctime?.getTime() ?? Infinity;
  return {
    stamp: [s.dev, s.ino, s.size, mtime, ctime].join(":"),
    changedMs: Math.max(mtime, ctime),
  };
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
