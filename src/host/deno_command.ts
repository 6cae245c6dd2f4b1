/**
 * How a Deno plugin module is run: its module graph cached by the host
 * first (remote imports included), then `deno run --cached-only` with
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

/** Returns Deno's cache directory, so a plugin run with a cleared environment finds its cache. */
export function findDenoDir(): Promise<string> {
  return denoDir ??= (async () => {
    const fromEnv = readEnv("DENO_DIR"); // without env access, deno info (which inherits it) says
    if (fromEnv) return fromEnv;
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

/** `deno cache` runs under way or done, and the signal of the caller who started each. */
const cached = new Map<string, { done: Promise<void>; signal: AbortSignal | undefined }>();

/**
 * Caches a module's graph (`deno cache`, once per host process, module,
 * working directory and resolution flags), remote imports included
 * (`--allow-import`: the graph is what the plugin's source names, fixed
 * before it runs), and returns the hosts its remote modules come from, for
 * the run's `--allow-import`. The hosts come from the module graph listing
 * (`module_graph.ts`), which the host's module root check reuses: one
 * `deno info` per start, none on a restart when no file changed.
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
  // the graph is cached now: deno info reads it without fetching
  return (await moduleGraph(module, { cwd, flags, signal })).remoteHosts;
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
