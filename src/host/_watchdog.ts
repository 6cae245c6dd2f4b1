/**
 * The guardian of one plugin's traces on the machine: a `/bin/sh` started
 * before the plugin's private socket directory is made, told its name, that
 * removes it when the host dies — and, once told the plugin's process id,
 * kills the plugin's whole process group first. Internal to `src/host/`.
 *
 * It watches its stdin, a pipe only the host holds: EOF means the host is
 * gone, however it died (a SIGKILLed host runs no code). Because the
 * guardian exists before the directory does, nothing is on disk that
 * nothing would remove — not while the host caches a module graph, not
 * between spawning the plugin and its handshake. (`prctl`'s parent-death
 * signal would cover only the direct child, and fires when the host
 * *thread* that spawned it exits, which in a threaded runtime is not the
 * host's death.) A living host kills the guardian when it has cleaned up
 * itself, so the guardian never acts on a process id the system reused.
 *
 * A reattachable plugin's guardian (`reattach.ts`) waits a reattach window
 * after EOF before it acts, and holds read ends of the plugin's stdout and
 * stderr meanwhile (a write to a pipe nobody holds kills a Go program by
 * SIGPIPE). A successor that attaches starts its own guardian for the same
 * directory and process, then kills this one's process group (it and its
 * `sleep`). Its command line carries the SHA-256 of the reattach token, so a
 * successor can tell it from any other process.
 *
 * @module
 */
import { resolve } from "node:path";
import { closingFds, inheritedFds } from "./_inherited_fds.ts";

/** The longest Unix socket path Linux accepts (`sun_path` is 108 bytes, NUL included). */
export const MAX_SOCKET_PATH_BYTES = 107;

// $1: the directory ($2: a reattach token's hash, for successors to check).
// The first line names the process group and, for a reattachable plugin, the
// reattach window in seconds. At EOF on stdin (after the window): kill the
// process group, if any, and remove the directory.
const SCRIPT = `read -r pid window
case "$pid" in *[!0-9]*|"") pid= ;; esac
case "$window" in *[!0-9.]*|"") window= ;; esac
if [ -n "$pid" ] && [ -n "$window" ]; then
  command exec 3</proc/"$pid"/fd/1 4</proc/"$pid"/fd/2
fi
while read -r _; do :; done
[ -n "$window" ] && sleep "$window"
[ -n "$pid" ] && kill -9 -"$pid" 2>/dev/null
rm -rf -- "$1"`;

/** The name a guardian runs under (its `$0`), for finding it in `/proc`. */
export const WATCHDOG_NAME = "bulkhead-watchdog";

/** What makes a guardian a reattachable plugin's. */
export interface WatchdogReattach {
  /** How long it waits after its host is gone, in milliseconds. */
  windowMs: number;
  /** The SHA-256 (hex) of the reattach token, shown on its command line. */
  tokenHash: string;
}

/** A plugin's socket directory and the guardian that removes it when the host dies. */
export class Watchdog {
  readonly #guard: Deno.ChildProcess | undefined;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array> | undefined;
  readonly #reattach: WatchdogReattach | undefined;
  #closing: Promise<void> | undefined;
  /** The socket directory (mode 0700). */
  readonly dir: string;
  /** The socket path the host chooses in it. */
  readonly socketPath: string;

  private constructor(
    dir: string,
    guard: Deno.ChildProcess | undefined,
    reattach?: WatchdogReattach,
  ) {
    this.dir = dir;
    this.socketPath = `${dir}/plugin.sock`;
    this.#guard = guard;
    this.#reattach = reattach;
    this.#stdin = guard?.stdin.getWriter();
    this.#stdin?.closed.catch(() => {});
  }

  /**
   * Starts a guardian, then makes a fresh 0700 socket directory with a
   * random name it was given. Without `/bin/sh` the directory is unguarded.
   *
   * @param parent Where to make it; `$TMPDIR` or `/tmp` by default.
   * @param reattach For a reattachable plugin: its window and token hash.
   * @returns The guarded directory.
   * @throws {RangeError} When the socket path would be too long for Linux.
   * @throws {Deno.errors.AlreadyExists} When the random name is taken (2^-64).
   */
  static async open(parent: string | undefined, reattach?: WatchdogReattach): Promise<Watchdog> {
    const base = parent ?? tempDir();
    if (base === undefined) return await Watchdog.#openUnnamed(reattach);
    const name = Array.from(crypto.getRandomValues(new Uint8Array(8)))
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    const dir = resolve(base, `bulkhead-${name}`);
    const watchdog = new Watchdog(dir, guard(dir, reattach), reattach);
    await watchdog.#checkLength();
    try {
      await Deno.mkdir(dir, { mode: 0o700 }); // fails if it exists: never someone else's
    } catch (error) {
      await watchdog.#stop();
      throw error;
    }
    await watchdog.#restrict();
    return watchdog;
  }

  /**
   * A host that may not read `TMPDIR` (no env permission) cannot name a
   * directory in it beforehand: Deno makes one there, and the guardian
   * starts at once after, the only moment a host death would leave it.
   */
  static async #openUnnamed(reattach: WatchdogReattach | undefined): Promise<Watchdog> {
    const dir = await Deno.makeTempDir({ prefix: "bulkhead-" });
    const watchdog = new Watchdog(dir, guard(dir, reattach), reattach);
    try {
      await watchdog.#checkLength();
    } catch (error) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw error;
    }
    await watchdog.#restrict();
    return watchdog;
  }

  async #checkLength(): Promise<void> {
    const socketBytes = new TextEncoder().encode(this.socketPath).length;
    if (socketBytes > MAX_SOCKET_PATH_BYTES) {
      await this.#stop();
      throw new RangeError(
        `Cannot place a plugin socket at ${this.socketPath}: longer than ${MAX_SOCKET_PATH_BYTES} bytes (set TMPDIR to a shorter directory)`,
      );
    }
  }

  async #restrict(): Promise<void> {
    try {
      await Deno.chmod(this.dir, 0o700); // whatever the umask
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /**
   * A guardian for a directory and plugin that a previous host made: a
   * successor's, which takes over once it has killed the previous guardian.
   *
   * @param dir The existing socket directory.
   * @param pid The plugin's process id (its process group id).
   * @param reattach The plugin's window and token hash.
   * @returns The guardian, already watching `pid`.
   */
  static adopt(dir: string, pid: number, reattach: WatchdogReattach): Watchdog {
    const watchdog = new Watchdog(dir, guard(dir, reattach), reattach);
    watchdog.watch(pid);
    return watchdog;
  }

  /** The guardian's process id (also its process group's), if it runs. */
  get pid(): number | undefined {
    return this.#guard?.pid;
  }

  /**
   * From now on the guardian also kills `pid`'s process group when the host
   * dies (for a reattachable plugin: when no successor took over within the
   * window).
   *
   * @param pid The plugin's process id (its process group id).
   */
  watch(pid: number): void {
    const window = this.#reattach === undefined
      ? ""
      : ` ${Math.max(1, Math.ceil(this.#reattach.windowMs / 100)) / 10}`;
    this.#stdin?.write(new TextEncoder().encode(`${pid}${window}\n`)).catch(() => {});
  }

  /** Stops the guardian (the host cleans up itself) and removes the directory. Idempotent. */
  close(): Promise<void> {
    return this.#closing ??= (async () => {
      await this.#stop();
      await Deno.remove(this.dir, { recursive: true }).catch(() => {});
    })();
  }

  /** Kills the guardian before its stdin closes, so it removes nothing. */
  async #stop(): Promise<void> {
    if (!this.#guard) return;
    try {
      this.#guard.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.#guard.status;
    await this.#stdin?.close().catch(() => {});
  }
}

/** Starts the guardian of `dir`, or returns undefined without `/bin/sh`. */
function guard(dir: string, reattach?: WatchdogReattach): Deno.ChildProcess | undefined {
  try {
    // descriptors the host inherited without close-on-exec do not reach it
    const watch = closingFds(
      "/bin/sh",
      ["-c", SCRIPT, WATCHDOG_NAME, dir, ...(reattach ? [reattach.tokenHash] : [])],
      {},
      inheritedFds(),
    );
    return new Deno.Command(watch.command, {
      args: watch.args,
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin" },
      stdin: "piped",
      stdout: "null",
      stderr: "null",
      detached: true,
    }).spawn();
  } catch {
    return undefined; // no /bin/sh: a Deno plugin's own host watch still applies
  }
}

/** `$TMPDIR` or `/tmp`; undefined when the host may not read its environment. */
function tempDir(): string | undefined {
  try {
    return Deno.env.get("TMPDIR") || "/tmp";
  } catch {
    return undefined;
  }
}
