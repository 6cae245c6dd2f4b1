/**
 * How a Deno plugin module is run: its module graph listed and cached by
 * the host first (`deno info`, which keeps npm packages in Deno's cache;
 * `deno cache` too when it has remote imports), then `deno run --cached-only` with
 * exactly the granted permissions, `--no-remote` for a local graph or
 * `--allow-import` of its remote hosts only, so a plugin without network
 * access cannot make Deno fetch anything (an `npm:` or `https:` import built
 * at run time would otherwise leak data through its URL).
 *
 * @module
 */
import { permissionFlags, type Permissions } from "./permissions.ts";
import { denoExecutable, readEnv } from "./deno_executable.ts";
import { denoCache } from "./_deno_info.ts";
import { moduleGraph, resolutionFlags } from "./module_graph.ts";

export {
  denoExecutable,
  type DenoExecutableFacts,
  ENV_DENO,
  resolveDenoExecutable,
} from "./deno_executable.ts";

/** What to spawn for a Deno plugin. */
export interface DenoLaunch {
  /** The Deno executable. */
  command: string;
  /** `run`, flags, module, plugin arguments. */
  args: string[];
  /** Environment Deno itself needs (the cache directory). */
  env: Record<string, string>;
}

let denoDir: Promise<string> | undefined;

/**
 * Returns Deno's cache directory, so a plugin run with a cleared environment
 * finds its cache: `DENO_DIR`, else Deno's default on Linux when it exists,
 * else what `deno info --json` says (one more process on a first start).
 */
export function findDenoDir(): Promise<string> {
  return denoDir ??= (async () => {
    const fromEnv = readEnv("DENO_DIR"); // without env access, deno info (which inherits it) says
    if (fromEnv) return fromEnv;
    const known = linuxDefaultDenoDir();
    if (known) return known;
    const { stdout } = await new Deno.Command(denoExecutable(), {
      args: ["info", "--json"],
      stdout: "piped",
      stderr: "null",
      env: { NO_COLOR: "1" },
    }).output();
    const info = JSON.parse(new TextDecoder().decode(stdout)) as { denoDir?: string };
    if (!info.denoDir) {
      throw new Error("Cannot find Deno's cache directory: `deno info` did not say");
    }
    return info.denoDir;
  })();
}

/**
 * Deno's default cache directory on Linux, as Deno finds it without
 * `DENO_DIR`: `$XDG_CACHE_HOME/deno`, else `$HOME/.cache/deno` (checked
 * against `deno info` with both set and unset); undefined elsewhere, for a
 * relative `XDG_CACHE_HOME`, without env access, or when that directory does
 * not exist (yet).
 */
function linuxDefaultDenoDir(): string | undefined {
  if (Deno.build.os !== "linux") return undefined;
  const xdg = readEnv("XDG_CACHE_HOME");
  const home = readEnv("HOME");
  // a relative XDG_CACHE_HOME: Deno's reading of it is deno info's to say
  const base = xdg
    ? (xdg.startsWith("/") ? xdg : undefined)
    : home?.startsWith("/")
    ? `${home}/.cache`
    : undefined;
  if (base === undefined) return undefined;
  try {
    return Deno.statSync(`${base}/deno`).isDirectory ? `${base}/deno` : undefined;
  } catch {
    return undefined; // absent, or no read access to stat it: ask deno info
  }
}

/** `deno cache` runs under way or done, and the signal of the caller who started each. */
const cached = new Map<string, { done: Promise<void>; signal: AbortSignal | undefined }>();

/**
 * Makes sure a module's graph is in Deno's cache and returns the hosts its
 * remote modules come from, for the run's `--allow-import` (the graph is
 * what the plugin's source names, fixed before it runs). The module graph
 * listing (`module_graph.ts`, `deno info --allow-import`, which the host's
 * module root check reuses) comes first: it caches npm packages itself, so
 * a graph of local and npm modules needs nothing more. `deno cache` (once
 * per host process, module, working directory and resolution flags) runs
 * only for a graph with remote modules, which `deno info` fetches but does
 * not keep, or with a module it could not find (then `deno cache` says why).
 * So a first start runs one `deno info` (and `deno cache` for remote
 * graphs), a restart with no file changed neither.
 *
 * @param module The module's URL or path.
 * @param cwd The directory the plugin runs in (its `deno.json` applies).
 * @param flags Resolution flags (`--config`, `--import-map`, …) from its Deno flags.
 * @param signal Aborts the cache step.
 * @returns `host[:port]` of each remote module (empty for a local graph).
 * @throws {Error} When `deno cache` or `deno info` fails; the message holds its output.
 */
async function cacheModule(
  module: string,
  cwd: string | undefined,
  flags: readonly string[],
  signal?: AbortSignal,
): Promise<string[]> {
  let graph = await moduleGraph(module, { cwd, flags, signal });
  if (graph.complete && graph.remoteHosts.length === 0) return [];
  const key = JSON.stringify([module, cwd ?? "", flags]);
  for (;;) {
    let entry = cached.get(key);
    if (!entry) {
      const started = { done: denoCache(module, cwd, flags, signal), signal };
      entry = started;
      cached.set(key, started);
      started.done.catch(() => cached.get(key) === started && cached.delete(key));
    }
    try {
      await entry.done;
      break;
    } catch (error) {
      // another caller's abort stopped the run we waited for: run it again
      if (signal?.aborted || !entry.signal?.aborted || entry.signal === signal) throw error;
    }
  }
  // listed again only when a module was missing (such a listing is not reused)
  if (!graph.complete) graph = await moduleGraph(module, { cwd, flags, signal });
  return graph.remoteHosts;
}

/**
 * Prepares the command line for a Deno plugin module.
 *
 * @param module The module (path or URL).
 * @param options Permissions, socket, extra Deno flags, plugin arguments.
 * @returns What to spawn.
 * @example
 * ```ts ignore
 * const launch = await denoLaunch("plugin.ts", { socketPath: "/tmp/d/plugin.sock" });
 * ```
 */
export async function denoLaunch(
  module: string,
  options: {
    socketPath: string;
    envNames?: readonly string[];
    permissions?: Permissions;
    denoFlags?: readonly string[];
    args?: readonly string[];
    cwd?: string;
    signal?: AbortSignal;
  },
): Promise<DenoLaunch> {
  const flags = permissionFlags(options.permissions ?? {}, options.socketPath, options.envNames);
  const [dir, remote] = await Promise.all([
    findDenoDir(),
    cacheModule(module, options.cwd, resolutionFlags(options.denoFlags ?? []), options.signal),
  ]);
  return {
    command: denoExecutable(),
    args: [
      "run",
      ...flags,
      // the graph was cached above: nothing more is fetched, and remote
      // modules load only from the hosts the cached graph came from
      "--cached-only",
      ...(remote.length === 0 ? ["--no-remote"] : [`--allow-import=${remote.join(",")}`]),
      ...(options.denoFlags ?? []),
      module,
      ...(options.args ?? []),
    ],
    env: { DENO_DIR: dir, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
  };
}
