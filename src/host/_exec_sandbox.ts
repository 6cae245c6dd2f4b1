/**
 * How an executable plugin is launched in its bubblewrap sandbox: which
 * `bwrap` (found and probed once per host), which paths the executable
 * needs to see, and who is `bwrap`'s parent. Internal to `src/host/`.
 *
 * `--die-with-parent` is `PR_SET_PDEATHSIG`, which fires when the *thread*
 * that spawned the process exits, not the process; Deno's spawning thread
 * is no promise of the host's life. So the host spawns a `/bin/sh` (one
 * thread) that runs `bwrap` as its child and exits with its status
 * (re-raising the plugin's signal on itself, so the host sees e.g.
 * `SIGSEGV`, not 139). `bwrap` dies with that shell; the PID namespace's
 * init (`bwrap`) dies with `bwrap`; every process in the namespace dies with
 * its init. The shell is the process group the host signals and the
 * watchdog kills when the host is gone, so a host's SIGKILL ends the
 * sandbox as well, and nothing inside can see, let alone kill, the watchdog.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { PluginExitedError, SandboxUnavailableError } from "./errors.ts";
import { bwrapArgs, isSystemPath, type SandboxSpec, systemLayout } from "./bwrap.ts";
import { withRlimits } from "./limits.ts";
import type { PluginOptions } from "./plugin_options.ts";

/** The environment variable naming the `bwrap` to use. */
export const ENV_BWRAP = "BULKHEAD_BWRAP";

const BWRAP_PATHS = ["/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap"];

/** Commands that run a script named by their first non-flag argument. */
export const INTERPRETERS = /^(python[0-9.]*|node|deno|bun|ruby|perl|php|bash|sh|dash)$/;

// `bwrap` as the shell's child (not exec'd: its parent must be one thread);
// a plugin killed by signal N makes bwrap exit 128+N: the shell re-raises N
const WRAPPER =
  '"$0" "$@"; s=$?; if [ "$s" -gt 128 ] && [ "$s" -lt 160 ]; then ulimit -c 0; kill -$((s - 128)) $$; fi; exit "$s"';

/** A sandboxed executable's launch: what to spawn, the flags to show, the environment its grant adds. */
export interface SandboxedPlan {
  /** `/bin/sh`. */
  command: string;
  /** The wrapper, `bwrap`, its flags, `--`, the command line (in `prlimit` for limits). */
  args: string[];
  /** `bwrap`'s flags, for `inspect`. */
  flags: string[];
  /** The host variables the `env` grant names (the protocol's are added by the caller). */
  env: Record<string, string>;
}

/**
 * Plans an executable's launch in its sandbox: finds the executable and
 * `bwrap`, wraps the command line in `prlimit` for limits, then in `bwrap`.
 *
 * @param options The plugin's options.
 * @param facts Its name, the command, its socket directory, its arguments.
 * @returns What to spawn.
 * @throws {TypeError} When `allowTcp` is set without `net`.
 * @throws {PluginExitedError} When the executable does not exist (code 127).
 * @throws {SandboxUnavailableError} When `bwrap` is missing or cannot make namespaces.
 */
export async function planSandboxedLaunch(
  options: PluginOptions,
  facts: { name: string; target: string; socketDir: string; args: readonly string[] },
): Promise<SandboxedPlan> {
  const permissions = options.permissions ?? {};
  if (options.allowTcp && !permissions.net) {
    throw new TypeError(
      `Cannot start plugin "${facts.name}": allowTcp needs permissions.net for a sandboxed executable (its 127.0.0.1 is its own network namespace's), or sandbox: false`,
    );
  }
  const cwd = resolve(options.cwd ?? Deno.cwd());
  const executable = resolveExecutable(facts.target, cwd, readEnv("PATH") ?? "/usr/bin:/bin");
  if (executable === undefined) {
    throw new PluginExitedError(facts.name, "before it started", { code: 127, signal: null }, [
      `cannot run ${facts.target}: no such executable`,
    ]);
  }
  const bwrap = await findBwrap(facts.name);
  const limited = withRlimits(options.limits ?? {}, executable, facts.args);
  const { command, args } = sandboxLaunch(bwrap, {
    command: limited.command,
    args: limited.args,
    socketDir: facts.socketDir,
    cwd,
    permissions,
    visible: visiblePaths(executable, facts.args, cwd, options.cwd !== undefined),
  });
  // an env grant passes the host's variables in (an executable reads its whole environment)
  const env = permissions.env === true ? hostEnv() : Object.fromEntries(
    (permissions.env || []).flatMap((name) => {
      const value = readEnv(name);
      return value === undefined ? [] : [[name, value]];
    }),
  );
  return { command, args, flags: args.slice(3, args.indexOf("--")), env };
}

/** What to spawn for a sandboxed executable. */
export interface SandboxLaunch {
  /** `/bin/sh`. */
  command: string;
  /** The wrapper, `bwrap` and its arguments. */
  args: string[];
}

/**
 * The executable a command names, as an absolute path: a path resolved
 * against `cwd`, a bare name looked up on `PATH`.
 *
 * @param command The command option.
 * @param cwd The plugin's working directory.
 * @param path The `PATH` to search.
 * @returns The path, or `undefined` when there is no such file.
 */
export function resolveExecutable(command: string, cwd: string, path: string): string | undefined {
  const candidates = command.includes("/")
    ? [resolve(cwd, command)]
    : path.split(":").filter((d) => d !== "").map((d) => resolve(cwd, d, command));
  return candidates.find(isFile);
}

/**
 * What an executable needs to see besides the system: its own directory
 * (read-only, like a Deno plugin's module root), and for an interpreter
 * (`python3 plugin.py`) the script's directory, unless the system already
 * shows them; and `cwd` when the caller chose it.
 *
 * @param executable The executable's absolute path.
 * @param args Its arguments.
 * @param cwd The working directory.
 * @param explicitCwd Whether the caller gave `cwd`.
 * @returns Absolute paths to bind read-only.
 */
export function visiblePaths(
  executable: string,
  args: readonly string[],
  cwd: string,
  explicitCwd: boolean,
): string[] {
  const paths: string[] = [];
  const name = executable.slice(executable.lastIndexOf("/") + 1);
  if (!isSystemPath(executable)) paths.push(dirname(executable));
  if (INTERPRETERS.test(name)) {
    const script = args.find((a) => !a.startsWith("-"));
    if (script !== undefined && isFile(resolve(cwd, script))) {
      const dir = dirname(resolve(cwd, script));
      if (!isSystemPath(dir)) paths.push(dir);
    }
  }
  if (explicitCwd) paths.push(cwd);
  return paths;
}

/**
 * The command line that runs `spec` in its sandbox.
 *
 * @param bwrap The `bwrap` executable ({@linkcode findBwrap}).
 * @param spec What to run and what it may touch.
 * @returns What to spawn.
 */
export function sandboxLaunch(bwrap: string, spec: Omit<SandboxSpec, "system">): SandboxLaunch {
  return {
    command: "/bin/sh",
    args: ["-c", WRAPPER, bwrap, ...bwrapArgs({ ...spec, system: systemLayout() })],
  };
}

const probes = new Map<string, Promise<void>>();

/**
 * Finds `bwrap` (`BULKHEAD_BWRAP`, else the usual places) and checks, once
 * per host process and executable, that it can make the sandbox's
 * namespaces here.
 *
 * @param plugin The plugin being started, for the error.
 * @returns The path of `bwrap`.
 * @throws {SandboxUnavailableError} When `bwrap` is missing or cannot make namespaces.
 */
export async function findBwrap(plugin: string): Promise<string> {
  const explicit = readEnv(ENV_BWRAP);
  const bwrap = explicit ?? BWRAP_PATHS.find(isFile);
  if (bwrap === undefined || !isFile(bwrap)) {
    throw new SandboxUnavailableError(
      plugin,
      "missing",
      `bubblewrap is not installed (no ${explicit ?? BWRAP_PATHS.join(", ")})`,
    );
  }
  let probe = probes.get(bwrap);
  if (probe === undefined) {
    probe = probeBwrap(bwrap);
    probes.set(bwrap, probe);
    probe.catch(() => probes.delete(bwrap));
  }
  try {
    await probe;
  } catch (error) {
    throw new SandboxUnavailableError(
      plugin,
      "namespaces",
      error instanceof Error ? error.message : String(error),
      { cause: error },
    );
  }
  return bwrap;
}

async function probeBwrap(bwrap: string): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "bulkhead-probe-" });
  try {
    const { command, args } = sandboxLaunch(bwrap, {
      command: "/bin/sh",
      args: ["-c", ":"],
      socketDir: dir,
      cwd: "/",
      permissions: {},
      visible: [],
    });
    const output = await new Deno.Command(command, {
      args,
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!output.success) {
      const said = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-3).join("; ");
      throw new Error(
        `${bwrap} cannot make the sandbox's namespaces here (${
          said || `exit code ${output.code}`
        }); user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone, user.max_user_namespaces, or an AppArmor restriction)`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function hostEnv(): Record<string, string> {
  try {
    return Deno.env.toObject();
  } catch {
    return {}; // no env permission: nothing to pass
  }
}

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no env permission: as if unset
  }
}
