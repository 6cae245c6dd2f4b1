/**
 * File descriptors the host inherited without close-on-exec (a shell's
 * `exec 7<file`, a supervisor's pipe) would reach every plugin it spawns:
 * `Deno.Command` closes nothing but its own descriptors, which it marks
 * close-on-exec. So a spawn is wrapped, when there are such descriptors, in
 * a shell that closes them before it executes the plugin's command. Most
 * hosts inherit none and spawn as usual. They are looked for once per host
 * process (~5 ms), at its first spawn: a host inherits them when it starts.
 * Internal to `src/host/`.
 *
 * Linux only (`/proc/self/fdinfo`). A host without read access to
 * `/proc/self` cannot tell, and spawns as usual. `/bin/sh` (dash) closes
 * descriptors 3–9 only; higher ones need `bash`, used when installed.
 *
 * @module
 */

const O_CLOEXEC = 0o2000000;

let inherited: readonly number[] | undefined;

/**
 * The descriptors the host inherited that a child would inherit in turn,
 * as found at the first call.
 *
 * @returns Their numbers, ascending; empty when none, or when `/proc/self` cannot be read.
 */
export function inheritedFds(): readonly number[] {
  return inherited ??= inheritableFds();
}

/**
 * The host's descriptors above stderr that a child would inherit (open
 * without close-on-exec), now.
 *
 * @returns Their numbers, ascending; empty when none, or when `/proc/self` cannot be read.
 */
export function inheritableFds(): number[] {
  const fds: number[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync("/proc/self/fd")];
  } catch {
    return fds;
  }
  for (const { name } of entries) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd < 3) continue;
    try {
      const flags = /^flags:\s*([0-7]+)$/m.exec(Deno.readTextFileSync(`/proc/self/fdinfo/${fd}`));
      if (flags && (parseInt(flags[1]!, 8) & O_CLOEXEC) === 0) fds.push(fd);
    } catch {
      // closed meanwhile (the directory listing's own descriptor, for one)
    }
  }
  return fds.sort((a, b) => a - b);
}

/**
 * A command line that closes `fds` and then executes `command` (found on
 * `env.PATH`, or the host's, as `Deno.Command` would find it) with the same
 * arguments, environment and process.
 *
 * @param command The executable.
 * @param args Its arguments.
 * @param env The child's environment (for `PATH`).
 * @param fds Descriptors to close; nothing changes when empty.
 * @returns The command line to spawn.
 * @throws {Deno.errors.NotFound} When `command` is (or is found as) an absolute path and there is no such file, as `Deno.Command` would.
 */
export function closingFds(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  fds: readonly number[],
): { command: string; args: string[] } {
  if (fds.length === 0) return { command, args: [...args] };
  const bash = fds.some((fd) => fd > 9) ? BASH_PATHS.find(isFile) : undefined;
  const closable = bash ? fds : fds.filter((fd) => fd <= 9);
  if (closable.length === 0) return { command, args: [...args] };
  const script = `exec ${closable.map((fd) => `${fd}<&-`).join(" ")}; exec "$@"`;
  return {
    command: bash ?? "/bin/sh",
    args: ["-c", script, "bulkhead-launch", existing(onPath(command, env)), ...args],
  };
}

/** The command; `NotFound` for an absolute path to nothing, as a direct spawn says. */
function existing(command: string): string {
  if (!command.startsWith("/")) return command; // the shell looks it up, and says so
  try {
    Deno.statSync(command);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(
        `Failed to spawn '${command}': No such file or directory (os error 2)`,
      );
    }
  }
  return command;
}

const BASH_PATHS = ["/bin/bash", "/usr/bin/bash"];

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** `command` made absolute the way `Deno.Command` would look it up, when it can be. */
function onPath(command: string, env: Record<string, string>): string {
  if (command.includes("/")) return command;
  let path = env.PATH;
  if (path === undefined) {
    try {
      path = Deno.env.get("PATH");
    } catch {
      // no env access: leave the lookup to the shell
    }
  }
  for (const dir of (path ?? "").split(":")) {
    if (dir !== "" && isFile(`${dir}/${command}`)) return `${dir}/${command}`;
  }
  return command;
}
