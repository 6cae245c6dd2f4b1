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

/** What to spawn for a Deno plugin. */
export interface DenoLaunch {
  /** The Deno executable. */
  command: string;
  /** `run`, flags, module, plugin arguments. */
  args: string[];
  /** Environment Deno itself needs (the cache directory). */
  env: Record<string, string>;
}

/** The environment variable naming the `deno` executable that runs Deno plugins. */
export const ENV_DENO = "BULKHEAD_DENO";

/** What {@linkcode resolveDenoExecutable} looks at. */
export interface DenoExecutableFacts {
  /** `BULKHEAD_DENO`, if set. */
  explicit: string | undefined;
  /** Whether this host is a `deno compile`d binary (`Deno.build.standalone`). */
  standalone: boolean;
  /** This process's executable. */
  execPath: string;
  /** The `PATH` to search when the host is compiled. */
  path: string;
  /** Whether a path is an existing file. */
  isFile: (path: string) => boolean;
}

/**
 * Chooses the `deno` that runs Deno plugins: `BULKHEAD_DENO` if set, else
 * the Deno running this host — unless the host is a `deno compile`d binary,
 * whose executable is the host itself (it would take the plugin's arguments
 * as its own command line): then `deno` on `PATH`.
 *
 * @param facts The environment, injected for tests.
 * @returns The executable's path.
 * @throws {Error} When the host is compiled and no `deno` is found.
 * @example
 * ```ts
 * import { resolveDenoExecutable } from "./deno_command.ts";
 * const deno = resolveDenoExecutable({
 *   explicit: undefined,
 *   standalone: true,
 *   execPath: "/opt/bulkhead",
 *   path: "/usr/local/bin:/usr/bin",
 *   isFile: (p) => p === "/usr/bin/deno",
 * });
 * if (deno !== "/usr/bin/deno") throw new Error(deno);
 * ```
 */
export function resolveDenoExecutable(facts: DenoExecutableFacts): string {
  if (facts.explicit) return facts.explicit;
  if (!facts.standalone) return facts.execPath;
  for (const dir of facts.path.split(":")) {
    if (dir && facts.isFile(`${dir}/deno`)) return `${dir}/deno`;
  }
  throw new Error(
    `Cannot run Deno plugins: this host is a compiled binary (${facts.execPath}) and no deno was found on PATH; install Deno or set ${ENV_DENO} to its path`,
  );
}

let deno: string | undefined;

/** The `deno` that runs Deno plugins and code generation (see {@linkcode resolveDenoExecutable}). */
export function denoExecutable(): string {
  return deno ??= resolveDenoExecutable({
    explicit: readEnv(ENV_DENO) ?? grantedDenoOnPath(),
    standalone: Deno.build.standalone ?? false,
    execPath: Deno.execPath(),
    path: readEnv("PATH") ?? "",
    isFile: (path) => {
      try {
        return Deno.statSync(path).isFile;
      } catch {
        return false;
      }
    },
  });
}

/**
 * `deno`, when this host may run the `deno` on PATH (`--allow-run=deno`) but
 * not its own executable by that path (PATH's deno is a symlink to it, say).
 */
function grantedDenoOnPath(): string | undefined {
  const granted = (command: string) =>
    Deno.permissions.querySync({ name: "run", command }).state === "granted";
  if (Deno.build.standalone || granted(Deno.execPath())) return undefined;
  return granted("deno") ? "deno" : undefined;
}

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no env permission: as if unset
  }
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

const cached = new Map<string, Promise<string[]>>();

/**
 * Caches a module's graph (once per host process and module), remote
 * imports included (`--allow-import`: the graph is what the plugin's source
 * names, fixed before it runs), and returns the hosts its remote modules
 * come from, for the run's `--allow-import`.
 *
 * @param module The module's URL or path.
 * @param cwd The directory the plugin runs in (its `deno.json` applies).
 * @param signal Aborts the cache step.
 * @returns `host[:port]` of each remote module (empty for a local graph).
 * @throws {Error} When `deno cache` fails; the message holds its output.
 */
function cacheModule(
  module: string,
  cwd: string | undefined,
  signal?: AbortSignal,
): Promise<string[]> {
  const key = `${cwd ?? ""}\0${module}`;
  let done = cached.get(key);
  if (!done) {
    done = (async () => {
      const { code, stderr } = await denoTool(["cache", "--quiet", "--allow-import", module], {
        cwd,
        signal,
      });
      if (code !== 0) {
        const text = new TextDecoder().decode(stderr).trim().split("\n").slice(-5).join("\n  ");
        throw new Error(
          `Cannot cache plugin module ${module}: deno cache exited ${code}\n  ${text}`,
        );
      }
      // the graph is cached now: deno info reads it without fetching
      const info = await denoTool(["info", "--json", "--allow-import", module], { cwd, signal });
      return remoteHosts(new TextDecoder().decode(info.stdout));
    })();
    cached.set(key, done);
    done.catch(() => cached.delete(key));
  }
  return done;
}

function denoTool(
  args: string[],
  options: { cwd: string | undefined; signal: AbortSignal | undefined },
): Promise<Deno.CommandOutput> {
  return new Deno.Command(denoExecutable(), {
    args,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    ...(options.signal ? { signal: options.signal } : {}),
  }).output();
}

/** The `host[:port]` of every http(s) module (and redirect) in `deno info --json` output. */
function remoteHosts(json: string): string[] {
  let info: { modules?: { specifier?: unknown }[]; redirects?: Record<string, unknown> };
  try {
    info = JSON.parse(json);
  } catch {
    return [];
  }
  const specifiers = [
    ...(info.modules ?? []).map((m) => m.specifier),
    ...Object.keys(info.redirects ?? {}),
    ...Object.values(info.redirects ?? {}),
  ];
  const hosts = new Set<string>();
  for (const specifier of specifiers) {
    if (typeof specifier !== "string" || !/^https?:/.test(specifier)) continue;
    hosts.add(new URL(specifier).host);
  }
  return [...hosts].sort();
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
    cacheModule(module, options.cwd, options.signal),
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
