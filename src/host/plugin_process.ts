/**
 * One plugin's operating-system side: its private socket directory, its
 * process (in a process group of its own), its stdin held open, and the
 * pumps that read its stdout and stderr. Knows nothing of gRPC.
 *
 * No plugin outlives its host, even a host killed by SIGKILL and a plugin
 * that does not cooperate: beside each plugin runs a watchdog, a `/bin/sh`
 * that reads its stdin (a pipe only the host holds) and, at EOF — the
 * host is gone — kills the plugin's whole process group. (`prctl`'s
 * parent-death signal would cover only the direct child, and fires when the
 * host *thread* that spawned it exits, which in a threaded runtime is not
 * the host's death.) On a normal stop the host kills the watchdog first.
 *
 * @module
 */
import type { ExitStatus } from "./errors.ts";
import { closingFds, inheritedFds } from "./_inherited_fds.ts";
import { LineTail, readLines } from "./lines.ts";
import { type Logger, logLine } from "./logger.ts";

/** The longest Unix socket path Linux accepts (`sun_path` is 108 bytes, NUL included). */
export const MAX_SOCKET_PATH_BYTES = 107;

/** What {@linkcode PluginProcess.spawn} needs. */
export interface SpawnSpec {
  /** The plugin's name, for logs and errors. */
  name: string;
  /** The executable. */
  command: string;
  /** Its arguments. */
  args: readonly string[];
  /** The complete environment (nothing is inherited). */
  env: Record<string, string>;
  /** The working directory. */
  cwd?: string;
  /** Receives stderr lines and stdout lines after the first. */
  logger: Logger;
  /** How many stderr lines to keep for error messages. */
  tailLines: number;
}

/** A spawned plugin process and the resources that belong to it. */
export class PluginProcess {
  readonly #child: Deno.ChildProcess;
  readonly #watchdog: Deno.ChildProcess | undefined;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #tail: LineTail;
  readonly #firstLine: Promise<string | undefined>;
  readonly #pumps: Promise<unknown>;
  /** The socket directory (mode 0700), removed by {@linkcode PluginProcess.cleanup}. */
  readonly socketDir: string;
  /** Resolves when the process has exited and been reaped; never rejects. */
  readonly exited: Promise<ExitStatus>;
  #exit: ExitStatus | undefined;

  private constructor(
    child: Deno.ChildProcess,
    watchdog: Deno.ChildProcess | undefined,
    socketDir: string,
    spec: SpawnSpec,
  ) {
    this.#child = child;
    this.#watchdog = watchdog;
    this.socketDir = socketDir;
    this.#tail = new LineTail(spec.tailLines);
    this.#stdin = child.stdin.getWriter();
    this.#stdin.closed.catch(() => {});
    this.exited = child.status.then((s) => {
      this.#exit = { code: s.code, signal: s.signal };
      return this.#exit;
    });
    let resolveFirst!: (line: string | undefined) => void;
    this.#firstLine = new Promise((resolve) => resolveFirst = resolve);
    const stdout = (async () => {
      let first = true;
      for await (const line of readLines(child.stdout)) {
        if (first) {
          first = false;
          resolveFirst(line);
        } else {
          logLine(spec.logger, spec.name, line, "stdout");
        }
      }
      resolveFirst(undefined);
    })();
    const tail = this.#tail;
    const stderr = (async () => {
      for await (const line of readLines(child.stderr)) {
        tail.push(line);
        logLine(spec.logger, spec.name, line, "stderr");
      }
    })();
    this.#pumps = Promise.allSettled([stdout, stderr]);
  }

  /**
   * Spawns the process in a new process group, with stdin, stdout and
   * stderr piped and no other descriptor of the host's (those it inherited
   * without close-on-exec are closed by a shell first, see
   * `_inherited_fds.ts`).
   *
   * @param spec What to run; `spec.env` is completed with nothing else.
   * @param socketDir A directory made by {@linkcode PluginProcess.makeSocketDir}.
   * @returns The running process.
   * @throws {Deno.errors.NotFound} When the command does not exist.
   */
  static spawn(spec: SpawnSpec, socketDir: string): PluginProcess {
    // descriptors the host inherited without close-on-exec reach neither
    const leaking = inheritedFds();
    const launch = closingFds(spec.command, spec.args, spec.env, leaking);
    const child = new Deno.Command(launch.command, {
      args: launch.args,
      env: spec.env,
      clearEnv: true,
      ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
    let watchdog: Deno.ChildProcess | undefined;
    try {
      // EOF on its stdin (the host died: a live host kills the watchdog
      // first) kills the plugin's group, then removes its socket directory
      const watch = closingFds(
        "/bin/sh",
        [
          "-c",
          'read -r _; kill -9 -"$1" 2>/dev/null; rm -rf -- "$2"',
          "bulkhead-watchdog",
          String(child.pid),
          socketDir,
        ],
        {},
        leaking,
      );
      watchdog = new Deno.Command(watch.command, {
        args: watch.args,
        clearEnv: true,
        env: { PATH: "/usr/bin:/bin" },
        stdin: "piped",
        stdout: "null",
        stderr: "null",
        detached: true,
      }).spawn();
    } catch {
      // no /bin/sh: the plugin's own host watch (Deno SDK) still applies
    }
    return new PluginProcess(child, watchdog, socketDir, spec);
  }

  /**
   * Makes a fresh 0700 directory for a plugin's socket.
   *
   * @param parent Where to make it; the system's temporary directory by default.
   * @returns The directory and the socket path the host chooses in it.
   * @throws {RangeError} When the socket path would be too long for Linux.
   */
  static async makeSocketDir(parent?: string): Promise<{ dir: string; socketPath: string }> {
    const dir = await Deno.makeTempDir({
      prefix: "bulkhead-",
      ...(parent === undefined ? {} : { dir: parent }),
    });
    await Deno.chmod(dir, 0o700);
    const socketPath = `${dir}/plugin.sock`;
    if (new TextEncoder().encode(socketPath).length > MAX_SOCKET_PATH_BYTES) {
      await Deno.remove(dir, { recursive: true });
      throw new RangeError(
        `Cannot place a plugin socket at ${socketPath}: longer than ${MAX_SOCKET_PATH_BYTES} bytes (set TMPDIR to a shorter directory)`,
      );
    }
    return { dir, socketPath };
  }

  /** The process id (also the process group id). */
  get pid(): number {
    return this.#child.pid;
  }

  /** How it exited, once it has. */
  get exitStatus(): ExitStatus | undefined {
    return this.#exit;
  }

  /** The first stdout line (the handshake), or `undefined` if stdout closed first. */
  firstLine(): Promise<string | undefined> {
    return this.#firstLine;
  }

  /** The last stderr lines, oldest first. */
  stderrTail(): string[] {
    return this.#tail.lines();
  }

  /**
   * Waits for the output pumps to finish, at most `ms` milliseconds (a
   * grandchild may hold a pipe open after the plugin itself is gone).
   */
  async drained(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#pumps,
      new Promise((resolve) => timer = setTimeout(resolve, ms)),
    ]);
    clearTimeout(timer);
  }

  /** Closes the plugin's stdin: a Bulkhead plugin exits on EOF. Idempotent. */
  async closeStdin(): Promise<void> {
    await this.#stdin.close().catch(() => {});
  }

  /**
   * Sends a signal to the plugin's whole process group (its children too).
   * Does nothing once the process has been reaped.
   */
  kill(signal: Deno.Signal): void {
    if (this.#exit) return;
    try {
      Deno.kill(-this.#child.pid, signal);
    } catch {
      try {
        this.#child.kill(signal);
      } catch {
        // already gone
      }
    }
  }

  /**
   * After the process has exited: kills what is left of its process group,
   * closes stdin, waits briefly for the output pumps, removes the socket
   * directory. Idempotent.
   */
  async cleanup(): Promise<void> {
    await this.exited;
    if (this.#watchdog) {
      try {
        this.#watchdog.kill("SIGKILL");
      } catch {
        // already gone
      }
      await this.#watchdog.status;
      await this.#watchdog.stdin.close().catch(() => {});
    }
    try {
      Deno.kill(-this.#child.pid, "SIGKILL");
    } catch {
      // the group is empty: the usual case
    }
    await this.closeStdin();
    await this.drained(1000);
    await Deno.remove(this.socketDir, { recursive: true }).catch(() => {});
  }
}
