/**
 * A plugin must not outlive its host. Two signals say the host is gone:
 * EOF on stdin (only when a Bulkhead host says it holds stdin open, since a
 * go-plugin host passes its own stdin, which may be /dev/null from the
 * start), and a change of parent process id (the orphan is re-parented to
 * pid 1 or a subreaper), checked always.
 *
 * @module
 */

/** Options for {@linkcode watchHost}. */
export interface HostWatchOptions {
  /** Whether the host holds our stdin open (EOF then means it is gone). */
  stdinHeldByHost: boolean;
  /**
   * How often to check the parent process id, in milliseconds.
   * @default {500}
   */
  intervalMs?: number;
  /** Called once when the host is gone. */
  onHostGone: (why: string) => void;
}

/**
 * Watches for the host's death; the watch does not keep the process alive.
 *
 * @param options What to watch and what to do.
 * @returns A function that stops watching.
 * @example
 * ```ts ignore
 * const stop = watchHost({ stdinHeldByHost: true, onHostGone: () => Deno.exit(0) });
 * ```
 */
export function watchHost(options: HostWatchOptions): () => void {
  let done = false;
  const gone = (why: string) => {
    if (done) return;
    done = true;
    stop();
    options.onHostGone(why);
  };
  const parent = Deno.ppid;
  const timer = setInterval(() => {
    if (Deno.ppid !== parent) gone(`parent process ${parent} is gone`);
  }, options.intervalMs ?? 500);
  Deno.unrefTimer(timer);
  if (options.stdinHeldByHost) {
    // Deno.stdin.read, not Deno.stdin.readable: the first use of web streams
    // costs a plugin ~2 ms of its start, before its first answer
    void (async () => {
      const buffer = new Uint8Array(64);
      try {
        while (await Deno.stdin.read(buffer) !== null) {
          // the host writes nothing; anything read is ignored
        }
      } catch {
        // a read error means the pipe is gone too (or stop() closed it)
      }
      gone("stdin closed");
    })();
  }
  function stop() {
    done = true;
    clearInterval(timer);
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
