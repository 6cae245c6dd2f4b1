/**
 * How a Deno plugin module is run: its module graph cached by the host
 * first, then `deno run --cached-only --no-remote` with exactly the granted
 * permissions, so a plugin without network access cannot make Deno fetch
 * anything (an `npm:` or `https:` import built at run time would otherwise
 * leak data through its URL).
 *
 * @module
 */
import { permissionFlags, type Permissions } from "./permissions.ts";

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
function findDenoDir(): Promise<string> {
  return denoDir ??= (async () => {
    const fromEnv = Deno.env.get("DENO_DIR");
    if (fromEnv) return fromEnv;
    const { stdout } = await new Deno.Command(Deno.execPath(), {
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

const cached = new Map<string, Promise<void>>();

/**
 * Caches a module's graph (once per host process and module).
 *
 * @param module The module's URL or path.
 * @param cwd The directory the plugin runs in (its `deno.json` applies).
 * @param signal Aborts the cache step.
 * @throws {Error} When `deno cache` fails; the message holds its output.
 */
async function cacheModule(module: string, cwd: string | undefined, signal?: AbortSignal) {
  const key = `${cwd ?? ""}\0${module}`;
  let done = cached.get(key);
  if (!done) {
    done = (async () => {
      const { code, stderr } = await new Deno.Command(Deno.execPath(), {
        args: ["cache", "--quiet", module],
        ...(cwd === undefined ? {} : { cwd }),
        stdout: "null",
        stderr: "piped",
        env: { NO_COLOR: "1" },
        ...(signal ? { signal } : {}),
      }).output();
      if (code !== 0) {
        const text = new TextDecoder().decode(stderr).trim().split("\n").slice(-5).join("\n  ");
        throw new Error(
          `Cannot cache plugin module ${module}: deno cache exited ${code}\n  ${text}`,
        );
      }
    })();
    cached.set(key, done);
    done.catch(() => cached.delete(key));
  }
  await done;
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
  const [dir] = await Promise.all([
    findDenoDir(),
    cacheModule(module, options.cwd, options.signal),
  ]);
  return {
    command: Deno.execPath(),
    args: [
      "run",
      ...flags,
      "--cached-only",
      // a remote plugin module was cached above; --cached-only alone then
      // keeps it from fetching anything more
      ...(/^https?:/.test(module) ? [] : ["--no-remote"]),
      ...(options.denoFlags ?? []),
      module,
      ...(options.args ?? []),
    ],
    env: { DENO_DIR: dir, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
  };
}
