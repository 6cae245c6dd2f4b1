/**
 * The guardian of one plugin's traces on the machine: a `/bin/sh` that makes
 * the plugin's private socket directory itself, and, once told the plugin's
 * process id, watches for its host's death and then kills the plugin's
 * whole process group and removes the directory. Internal to `src/host/`.
 *
 * It watches its stdin, a pipe only the host holds: EOF means the host is
 * gone, however it died (a SIGKILLed host runs no code). Because the
 * directory is made by the guardian, nothing is on disk before something
 * exists that removes it — not while the host caches a module graph, not
 * between spawning the plugin and its handshake. (`prctl`'s parent-death
 * signal would cover only the direct child, and fires when the host
 * *thread* that spawned it exits, which in a threaded runtime is not the
 * host's death.) A living host kills the guardian when it has cleaned up
 * itself, so the guardian never acts on a process id the system reused.
 *
 * @module
 */
import { readLines } from "./lines.ts";

/** The longest Unix socket path Linux accepts (`sun_path` is 108 bytes, NUL included). */
export const MAX_SOCKET_PATH_BYTES = 107;

// $1: the parent directory. Prints the directory it made (or why it made
// none). SIGPIPE is ignored so that a host dying before it read the
// directory's name still gets the directory removed.
const SCRIPT = `trap "" PIPE
d=$(mktemp -d "$1/bulkhead-XXXXXXXXXX" 2>&1) || { echo "$d"; exit 1; }
echo "$d"
read -r pid
read -r _
case "$pid" in *[!0-9]*|"") ;; *) kill -9 -"$pid" 2>/dev/null ;; esac
rm -rf -- "$d"`;

/** A plugin's socket directory and the guardian that removes it when the host dies. */
export class Watchdog {
  readonly #guard: Deno.ChildProcess | undefined;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #closing: Promise<void> | undefined;
  /** The socket directory (mode 0700). */
  readonly dir: string;
  /** The socket path the host chooses in it. */
  readonly socketPath: string;

  private constructor(dir: string, guard: Deno.ChildProcess | undefined) {
    this.dir = dir;
    this.socketPath = `${dir}/plugin.sock`;
    this.#guard = guard;
    this.#stdin = guard?.stdin.getWriter();
    this.#stdin?.closed.catch(() => {});
  }

  /**
   * Starts a guardian and has it make a fresh 0700 socket directory. Without
   * `/bin/sh` the host makes the directory itself, unguarded.
   *
   * @param parent Where to make it; `$TMPDIR` or `/tmp` by default.
   * @returns The guarded directory.
   * @throws {RangeError} When the socket path would be too long for Linux.
   * @throws {Error} When the directory cannot be made.
   */
  static async open(parent: string | undefined): Promise<Watchdog> {
    let guard: Deno.ChildProcess | undefined;
    try {
      guard = new Deno.Command("/bin/sh", {
        args: ["-c", SCRIPT, "bulkhead-watchdog", parent ?? tempDir()],
        clearEnv: true,
        env: { PATH: "/usr/bin:/bin" },
        stdin: "piped",
        stdout: "piped",
        stderr: "null",
        detached: true,
      }).spawn();
    } catch {
      // no /bin/sh: unguarded (a Deno plugin's own host watch still applies)
    }
    const watchdog = guard ? await Watchdog.#named(guard) : await Watchdog.#unguarded(parent);
    if (new TextEncoder().encode(watchdog.socketPath).length > MAX_SOCKET_PATH_BYTES) {
      await watchdog.close();
      throw new RangeError(
        `Cannot place a plugin socket at ${watchdog.socketPath}: longer than ${MAX_SOCKET_PATH_BYTES} bytes (set TMPDIR to a shorter directory)`,
      );
    }
    return watchdog;
  }

  /** Reads the directory the guardian made (`mktemp -d`: mode 0700). */
  static async #named(guard: Deno.ChildProcess): Promise<Watchdog> {
    const stdout = readLines(guard.stdout);
    const line = (await stdout.next()).value;
    await stdout.return(undefined);
    if (typeof line === "string" && line.startsWith("/")) return new Watchdog(line, guard);
    await guard.stdin.close().catch(() => {});
    await guard.status;
    throw new Error(`Cannot make a plugin socket directory: ${line || "mktemp failed"}`);
  }

  static async #unguarded(parent: string | undefined): Promise<Watchdog> {
    const dir = await Deno.makeTempDir({
      prefix: "bulkhead-",
      ...(parent === undefined ? {} : { dir: parent }),
    });
    await Deno.chmod(dir, 0o700);
    return new Watchdog(dir, undefined);
  }

  /**
   * From now on the guardian also kills `pid`'s process group when the host dies.
   *
   * @param pid The plugin's process id (its process group id).
   */
  watch(pid: number): void {
    this.#stdin?.write(new TextEncoder().encode(`${pid}\n`)).catch(() => {});
  }

  /** Stops the guardian (the host cleans up itself) and removes the directory. Idempotent. */
  close(): Promise<void> {
    return this.#closing ??= (async () => {
      if (this.#guard) {
        try {
          this.#guard.kill("SIGKILL");
        } catch {
          // already gone
        }
        await this.#guard.status;
        await this.#stdin?.close().catch(() => {});
      }
      await Deno.remove(this.dir, { recursive: true }).catch(() => {});
    })();
  }
}

function tempDir(): string {
  try {
    return Deno.env.get("TMPDIR") || "/tmp";
  } catch {
    return "/tmp"; // no env permission
  }
}
