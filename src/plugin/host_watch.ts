/**
 * A plugin must not outlive its host. Two signals say the host is gone:
 * EOF on stdin (only when a Bulkhead host says it holds stdin open, since a
 * go-plugin host passes its own stdin, which may be /dev/null from the
 * start), and a change of parent process id (the orphan is re-parented to
 * pid 1 or a subreaper), checked always.
 *
 * A reattachable plugin (its host set `BULKHEAD_REATTACH_WINDOW_MS`) waits
 * that long before it leaves: a successor host that adopts it reopens its
 * stdin pipe (`/proc/<pid>/fd/0`) and writes a line, and from then on EOF
 * means that successor is gone (and the window starts again).
 *
 * @module
 */
import { sleep } from "../_timing.ts";
import { ENV_REATTACH_WINDOW_MS } from "../protocol/reattach_window.ts";

/** Options for {@linkcode watchHost}. */
export interface HostWatchOptions {
  /** Whether the host holds our stdin open (EOF then means it is gone). */
  stdinHeldByHost: boolean;
  /**
   * How often to check the parent process id, in milliseconds.
   * @default {500}
   */
  intervalMs?: number;
  /**
   * How long to wait for a successor host once the host is gone, in
   * milliseconds; 0 leaves at once.
   * @default {`BULKHEAD_REATTACH_WINDOW_MS` when the host set it and it may be read, else 0}
   */
  reattachWindowMs?: number;
  /** Called once when the host is gone (and no successor came within the window). */
  onHostGone: (why: string) => void;
}

/** How often a plugin in its reattach window looks for a successor on its stdin. */
const SUCCESSOR_POLL_MS = 100;

/**
 * Watches for the host's death; the watch does not keep the process alive
 * (except during a reattach window).
 *
 * @param options What to watch and what to do.
 * @returns A function that stops watching.
 * @example
 * ```ts ignore
 * const stop = watchHost({ stdinHeldByHost: true, onHostGone: () => Deno.exit(0) });
 * ```
 */
export function watchHost(options: HostWatchOptions): () => void {
  const windowMs = options.reattachWindowMs ?? reattachWindowFromEnv();
  let done = false;
  let waiting: ReturnType<typeof setTimeout> | undefined;
  const gone = (why: string) => {
    if (done) return;
    done = true;
    stop();
    options.onHostGone(why);
  };
  /** The host is gone: leave, or wait for a successor first. */
  const hostGone = (why: string) => {
    if (done || waiting !== undefined) return;
    if (windowMs <= 0 || !options.stdinHeldByHost) return gone(why);
    say(`host gone (${why}); waiting ${windowMs} ms for a successor`);
    waiting = setTimeout(
      () => gone(`${why}, and no successor attached within ${windowMs} ms`),
      windowMs,
    );
  };
  const parent = Deno.ppid;
  const timer = setInterval(() => {
    if (Deno.ppid === parent) return;
    clearInterval(timer); // an adopted plugin keeps its new parent
    hostGone(`parent process ${parent} is gone`);
  }, options.intervalMs ?? 500);
  Deno.unrefTimer(timer);
  if (options.stdinHeldByHost) void watchStdin();

  async function watchStdin(): Promise<void> {
    // Deno.stdin.read, not Deno.stdin.readable: the first use of web streams
    // costs a plugin ~2 ms of its start, before its first answer
    const buffer = new Uint8Array(64);
    for (;;) {
      try {
        while (await Deno.stdin.read(buffer) !== null) {
          // a host writes nothing; a successor's line is its arrival
          if (waiting !== undefined) {
            clearTimeout(waiting);
            waiting = undefined;
            say("a successor host attached");
          }
        }
      } catch {
        // a read error means the pipe is gone too (or stop() closed it)
        if (done) return;
        return gone("stdin closed");
      }
      if (done) return;
      hostGone("stdin closed");
      if (done) return;
      // Nobody holds the pipe's write end now: reads return EOF at once
      // until a successor opens one, then wait for its line.
      await sleep(SUCCESSOR_POLL_MS);
    }
  }

  function stop() {
    done = true;
    clearInterval(timer);
    clearTimeout(waiting);
    if (options.stdinHeldByHost) {
      try {
        Deno.stdin.close(); // ends the pending read, as cancelling the readable did
      } catch {
        // already closed
      }
    }
  }
  return stop;
}

/** The window a Bulkhead host set, when this plugin may read it (no prompt is ever shown). */
function reattachWindowFromEnv(): number {
  try {
    const state = Deno.permissions.querySync({ name: "env", variable: ENV_REATTACH_WINDOW_MS });
    if (state.state !== "granted") return 0;
    const value = Number(Deno.env.get(ENV_REATTACH_WINDOW_MS) ?? "0");
    return Number.isSafeInteger(value) && value > 0 ? value : 0;
  } catch {
    return 0;
  }
}

/** One line on stderr, which the host (or its successor) logs under the plugin's name. */
function say(message: string): void {
  try {
    Deno.stderr.writeSync(new TextEncoder().encode(`bulkhead plugin: ${message}\n`));
  } catch {
    // nobody reads stderr: nothing to tell
  }
}
