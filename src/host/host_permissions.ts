/**
 * What the host process itself needs to run a plugin, checked before the
 * plugin is spawned, so that a host started without it fails at once
 * naming the flags instead of timing out in the handshake:
 *
 * - read and write on the socket directory's parent (the system's temporary
 *   directory by default): it makes the plugin's private directory there;
 * - `--allow-net`: the host connects to the plugin's Unix socket, whose path
 *   is new at every start, and Deno grants Unix sockets by exact path only;
 * - run of the plugin's executable (`deno` for a module, `prlimit` with
 *   limits) and of `/bin/sh`, the watchdog that kills the plugin if the host
 *   dies.
 *
 * @module
 */
import { HostPermissionError } from "./errors.ts";

/** What {@linkcode checkHostPermissions} checks. */
export interface HostNeeds {
  /** The plugin's socket path (in its fresh directory). */
  socketPath: string;
  /** Where its socket directory was made. */
  socketParent: string;
  /** Executables the host will run: the plugin's command (or deno, prlimit). */
  run: readonly string[];
}

/**
 * Throws {@linkcode HostPermissionError} when this process lacks what
 * running the plugin takes (only `granted` counts: a prompt would stall a
 * host that has no terminal).
 *
 * @param plugin The plugin's name.
 * @param needs What the start will touch.
 * @throws {HostPermissionError} Listing every missing flag.
 * @example
 * ```ts ignore
 * checkHostPermissions("greeter", {
 *   socketPath: "/tmp/bulkhead-x/plugin.sock",
 *   socketParent: "/tmp",
 *   run: [Deno.execPath()],
 * });
 * ```
 */
export function checkHostPermissions(plugin: string, needs: HostNeeds): void {
  const missing: { flag: string; why: string }[] = [];
  const lacks = (descriptor: Deno.PermissionDescriptor) =>
    Deno.permissions.querySync(descriptor).state !== "granted";
  const socketDir = "the plugin's socket directory";
  if (lacks({ name: "read", path: needs.socketPath })) {
    missing.push({ flag: `--allow-read=${needs.socketParent}`, why: socketDir });
  }
  if (lacks({ name: "write", path: needs.socketPath })) {
    missing.push({ flag: `--allow-write=${needs.socketParent}`, why: socketDir });
  }
  if (lacks({ name: "net", host: `unix:${needs.socketPath}` })) {
    missing.push({
      flag: "--allow-net",
      why:
        "the plugin's Unix socket: a new path at every start, and Deno grants sockets by exact path",
    });
  }
  const run = needs.run.filter((command) => lacks({ name: "run", command }));
  const why = run.length > 0 ? ["the plugin"] : [];
  if (lacks({ name: "run", command: "/bin/sh" })) {
    run.push("/bin/sh");
    why.push("/bin/sh: the watchdog that kills the plugin if the host dies");
  }
  if (run.length > 0) missing.push({ flag: `--allow-run=${run.join(",")}`, why: why.join("; ") });
  if (missing.length > 0) throw new HostPermissionError(plugin, missing);
}

/**
 * Turns a `NotCapable` from making the socket directory into
 * {@linkcode HostPermissionError}; anything else is returned as it is.
 *
 * @param plugin The plugin's name.
 * @param parent Where the directory was to be made (default: the temporary directory).
 * @param error What was thrown.
 * @returns The error to throw.
 */
export function socketDirError(
  plugin: string,
  parent: string | undefined,
  error: unknown,
): unknown {
  if (!(error instanceof Deno.errors.NotCapable)) return error;
  parent ??= temporaryDirectory();
  return new HostPermissionError(plugin, [
    { flag: `--allow-read=${parent}`, why: "the plugin's socket directory" },
    { flag: `--allow-write=${parent}`, why: "the plugin's socket directory" },
  ], { cause: error });
}

/** Deno's temporary directory; without env access, as a shell expression for it. */
function temporaryDirectory(): string {
  if (Deno.permissions.querySync({ name: "env", variable: "TMPDIR" }).state !== "granted") {
    return "${TMPDIR:-/tmp}";
  }
  return Deno.env.get("TMPDIR") || "/tmp";
}
