/**
 * One plugin's operating-system side: its private socket directory, its
 * process (in a process group of its own), its stdin held open, and the
 * pumps that read its stdout and stderr. Knows nothing of gRPC.
 *
 * No plugin outlives its host, even a host killed by SIGKILL and a plugin
 * that does not cooperate: its socket directory's watchdog
 * (`_watchdog.ts`), which exists before the directory does, kills the
 * plugin's whole process group and removes the directory when the host
 * dies. On a normal stop the host cleans up, then stops the watchdog.
 *
 * @module
 */
import { settledWithin } from "../_timing.ts";
import type { ExitStatus } from "./errors.ts";
import { closingFds, inheritedFds } from "./_inherited_fds.ts";
import { LineTail, readLines } from "./lines.ts";
import { type Logger, logLine } from "./logger.ts";
import type { Watchdog } from "./_watchdog.ts";

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
  readonly #watchdog: Watchdog;
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
    watchdog: Watchdog,
    spec: SpawnSpec,
  ) {
    this.#child = child;
    this.#watchdog = watchdog;
    this.socketDir = watchdog.dir;
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
   * `_inherited_fds.ts`), and has the watchdog of its socket directory watch it.
   *
   * @param spec What to run; `spec.env` is completed with nothing else.
   * @param watchdog The guardian of the plugin's socket directory.
   * @returns The running process.
   * @throws {Deno.errors.NotFound} When the command does not exist.
   */
  static spawn(spec: SpawnSpec, watchdog: Watchdog): PluginProcess {
    // descriptors the host inherited without close-on-exec reach neither it nor its watchdog
    const launch = closingFds(spec.command, spec.args, spec.env, inheritedFds());
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
    watchdog.watch(child.pid);
    return new PluginProcess(child, watchdog, spec);
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
    await settledWithin(this.#pumps, ms);
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
   * closes stdin, waits briefly for the output pumps (a process outside
   * the group may hold the pipes), removes the socket directory and stops
   * its watchdog. Idempotent.
   *
   * @param drainMs How long to wait for the output pumps.
   */
  async cleanup(drainMs = 1000): Promise<void> {
    await this.exited;
    try {
      Deno.kill(-this.#child.pid, "SIGKILL");
    } catch {
      // the group is empty: the usual case
    }
    await this.closeStdin();
    await this.drained(drainMs);
    await this.#watchdog.close();
  }
}
