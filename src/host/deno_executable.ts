/**
 * Which `deno` runs Deno plugins and code generation: `BULKHEAD_DENO`, the
 * Deno running this host, or (for a `deno compile`d host) `deno` on `PATH`.
 *
 * @module
 */

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

/**
 * An environment variable, or undefined when it is unset or this host may
 * not read it (as if unset).
 *
 * @param name The variable.
 * @returns Its value.
 * @example
 * ```ts
 * import { readEnv } from "./deno_executable.ts";
 * const home: string | undefined = readEnv("HOME");
 * ```
 */
export function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no env permission: as if unset
  }
}
