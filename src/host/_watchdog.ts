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
 * @module
 */
import { resolve } from "node:path";
import { closingFds, inheritedFds } from "./_inherited_fds.ts";

/** The longest Unix socket path Linux accepts (`sun_path` is 108 bytes, NUL included). */
export const MAX_SOCKET_PATH_BYTES = 107;

// $1: the directory. At EOF on stdin: kill the process group named on the
// first line, if any, and remove the directory.
const SCRIPT = `read -r pid
read -r _
case "$pid" in *[!0-9]*|"") ;; *) kill -9 -"$pid" 2>/dev/null ;; esac
rm -rf -- "$1"`;

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
   * Starts a guardian, then makes a fresh 0700 socket directory with a
   * random name it was given. Without `/bin/sh` the directory is unguarded.
   *
   * @param parent Where to make it; `$TMPDIR` or `/tmp` by default.
   * @returns The guarded directory.
   * @throws {RangeError} When the socket path would be too long for Linux.
   * @throws {Deno.errors.AlreadyExists} When the random name is taken (2^-64).
   */
  static async open(parent: string | undefined): Promise<Watchdog> {
    const base = parent ?? tempDir();
    if (base === undefined) return await Watchdog.#openUnnamed();
    const name = Array.from(crypto.getRandomValues(new Uint8Array(8)))
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    const dir = resolve(base, `bulkhead-${name}`);
    const watchdog = new Watchdog(dir, guard(dir));
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
  static async #openUnnamed(): Promise<Watchdog> {
    const dir = await Deno.makeTempDir({ prefix: "bulkhead-" });
    const watchdog = new Watchdog(dir, guard(dir));
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
function guard(dir: string): Deno.ChildProcess | undefined {
  try {
    // descriptors the host inherited without close-on-exec do not reach it
    const watch = closingFds(
      "/bin/sh",
      ["-c", SCRIPT, "bulkhead-watchdog", dir],
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
