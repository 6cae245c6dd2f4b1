/**
 * A plugin process this host adopted rather than spawned (`Plugin.attach`):
 * the same surface as `PluginProcess`, built on `/proc` instead of a child
 * handle. The successor is not the plugin's parent, so it cannot wait for
 * it: it polls `/proc/<pid>/stat` (pid and start time) and learns no exit
 * code (`exited` resolves with code -1). It reopens the plugin's own stdin,
 * stdout and stderr pipes through `/proc/<pid>/fd/`, so the plugin's
 * output reaches this host's logger and its stdin is held open by this host
 * (a Bulkhead plugin sees the first line written there as "a successor
 * attached"); and a guardian of its own watches the plugin for this host.
 *
 * @module
 */
import { settledWithin } from "../_timing.ts";
import type { ExitStatus } from "./errors.ts";
import { LineTail, readLines } from "./lines.ts";
import { type Logger, logLine } from "./logger.ts";
import type { Watchdog } from "./_watchdog.ts";
import { isSameProcess } from "./_proc_identity.ts";

/** What {@linkcode AttachedProcess.adopt} needs. */
export interface AdoptSpec {
  /** The plugin's name, for logs. */
  name: string;
  /** Its process id (and process group id). */
  pid: number;
  /** Its start time, so a reused pid is never mistaken for it. */
  startTime: string;
  /** Receives its stderr and stdout lines. */
  logger: Logger;
  /** How many stderr lines to keep for error messages. */
  tailLines: number;
  /**
   * How often to look whether it still runs, in milliseconds.
   * @default {100}
   */
  pollMs?: number;
}

/** The line a successor writes to an adopted plugin's stdin. */
const ATTACHED = "bulkhead-attached";

/** How long the successor's line may take to reach the plugin's stdin. */
const ANNOUNCE_MS = 5000;

/** An adopted plugin process and what this host holds of it. */
export class AttachedProcess {
  readonly #spec: AdoptSpec;
  readonly #watchdog: Watchdog;
  readonly #tail: LineTail;
  readonly #files: Deno.FsFile[] = [];
  #stdin: Deno.FsFile | undefined;
  #pumps: Promise<unknown> = Promise.resolve();
  #exit: ExitStatus | undefined;
  #cleaning: Promise<void> | undefined;
  /** The socket directory, removed by {@linkcode AttachedProcess.cleanup}. */
  readonly socketDir: string;
  /** Resolves when the process is gone; never rejects. */
  readonly exited: Promise<ExitStatus>;

  private constructor(spec: AdoptSpec, watchdog: Watchdog) {
    this.#spec = spec;
    this.#watchdog = watchdog;
    this.socketDir = watchdog.dir;
    this.#tail = new LineTail(spec.tailLines);
    this.exited = new Promise((resolve) => {
      const timer = setInterval(() => {
        if (isSameProcess(spec.pid, spec.startTime)) return;
        clearInterval(timer);
        this.#exit = { code: -1, signal: null };
        resolve(this.#exit);
      }, spec.pollMs ?? 100);
    });
  }

  /**
   * Adopts a running plugin whose identity has been checked: reopens its
   * stdio pipes and tells it a successor is here.
   *
   * @param spec Which process.
   * @param watchdog This host's guardian of it (already watching it).
   * @returns The adopted process.
   */
  static async adopt(spec: AdoptSpec, watchdog: Watchdog): Promise<AttachedProcess> {
    const process = new AttachedProcess(spec, watchdog);
    await process.#reopenStdio();
    return process;
  }

  async #reopenStdio(): Promise<void> {
    const { pid, name, logger } = this.#spec;
    // read and write: opening a pipe so never blocks, whoever holds its other end
    const open = async (fd: number): Promise<Deno.FsFile | undefined> => {
      try {
        if (!(await Deno.stat(`/proc/${pid}/fd/${fd}`)).isFifo) return undefined;
        const file = await Deno.open(`/proc/${pid}/fd/${fd}`, { read: true, write: true });
        this.#files.push(file);
        return file;
      } catch {
        return undefined; // not ours to read, or gone: the plugin's output is lost, not the plugin
      }
    };
    this.#stdin = await open(0);
    if (this.#stdin) await announce(pid);
    const pump = async (file: Deno.FsFile | undefined, source: "stdout" | "stderr") => {
      if (!file) return;
      try {
        for await (const line of readLines(file.readable)) {
          if (source === "stderr") this.#tail.push(line);
          logLine(logger, name, line, source);
        }
      } catch {
        // closed by cleanup()
      }
    };
    this.#pumps = Promise.allSettled([
      pump(await open(1), "stdout"),
      pump(await open(2), "stderr"),
    ]);
  }

  /** The process id (also the process group id). */
  get pid(): number {
    return this.#spec.pid;
  }

  /** How it exited (code -1: a successor cannot know), once it has. */
  get exitStatus(): ExitStatus | undefined {
    return this.#exit;
  }

  /** An adopted plugin printed its handshake line to its first host: `undefined`. */
  firstLine(): Promise<string | undefined> {
    return Promise.resolve(undefined);
  }

  /** The last stderr lines since the adoption, oldest first. */
  stderrTail(): string[] {
    return this.#tail.lines();
  }

  /** Closes this host's end of the plugin's stdin (a Bulkhead plugin starts its window). Idempotent. */
  async closeStdin(): Promise<void> {
    const stdin = this.#stdin;
    this.#stdin = undefined;
    if (!stdin) return;
    this.#files.splice(this.#files.indexOf(stdin), 1);
    try {
      stdin.close();
    } catch {
      // already closed
    }
    await Promise.resolve();
  }

  /** Signals the plugin's process group, while it is still the process that was adopted. */
  kill(signal: Deno.Signal): void {
    if (this.#exit || !isSameProcess(this.#spec.pid, this.#spec.startTime)) return;
    try {
      Deno.kill(-this.#spec.pid, signal);
    } catch {
      // gone
    }
  }

  /** Waits for the output pumps, at most `ms` milliseconds. */
  async drained(ms: number): Promise<void> {
    await settledWithin(this.#pumps, ms);
  }

  /**
   * After the process is gone: closes the reopened pipes, removes the
   * socket directory and stops this host's guardian. Idempotent.
   *
   * @param drainMs How long to let the plugin's last output arrive.
   */
  cleanup(drainMs = 1000): Promise<void> {
    return this.#cleaning ??= (async () => {
      await this.exited;
      // this host holds a write end of its stdout too: the pumps end when closed
      await this.drained(Math.min(drainMs, 100));
      for (const file of this.#files.splice(0)) {
        try {
          file.close();
        } catch {
          // closed
        }
      }
      this.#stdin = undefined;
      await this.drained(drainMs);
      await this.#watchdog.close();
    })();
  }
}

/**
 * Writes the successor's line to the plugin's stdin pipe, from a short-lived
 * shell killed after a deadline: a plugin that filled its own stdin pipe
 * (reopening `/proc/self/fd/0`) cannot hold this host's write up.
 */
async function announce(pid: number): Promise<void> {
  try {
    await new Deno.Command("/bin/sh", {
      args: ["-c", `echo ${ATTACHED} >"$0"`, `/proc/${pid}/fd/0`],
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
      signal: AbortSignal.timeout(ANNOUNCE_MS),
    }).output();
  } catch {
    // no /bin/sh, or too slow: a Bulkhead plugin then leaves after its window
  }
}
