/**
 * Who a process is, from Linux's `/proc`: its start time (which, with the
 * pid, names one process for the life of the system: a reused pid has
 * another), owner, process group and state; its command line and initial
 * environment. Internal to `src/host/`; what a successor checks before it
 * believes a reattach config.
 *
 * @module
 */

/** What `/proc/<pid>/stat` and `status` say about a process. */
export interface ProcessIdentity {
  /** Clock ticks after boot at which it started (field 22 of `stat`), as decimal text. */
  startTime: string;
  /** Its process group. */
  pgid: number;
  /** Its state letter (`R`, `S`, `Z` for a zombie, …). */
  state: string;
  /** Its real user id. */
  uid: number;
}

/**
 * Reads a process's identity.
 *
 * @param pid The process id.
 * @returns Its identity, or `undefined` when there is no such process (or `/proc` may not be read).
 */
export function processIdentity(pid: number): ProcessIdentity | undefined {
  if (!Number.isSafeInteger(pid) || pid < 2) return undefined;
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // the command name is in parentheses and may hold anything, ")" included
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    const startTime = fields[19];
    if (uid === undefined || startTime === undefined || !/^\d+$/.test(startTime)) return undefined;
    return { startTime, pgid: Number(fields[2]), state: fields[0] ?? "?", uid: Number(uid) };
  } catch {
    return undefined;
  }
}

/**
 * True while the process `pid` that started at `startTime` lives (not a zombie).
 *
 * @param pid The process id.
 * @param startTime Its start time, as {@linkcode processIdentity} read it.
 * @returns Whether it is the same, living process.
 */
export function isSameProcess(pid: number, startTime: string): boolean {
  const now = processIdentity(pid);
  return now !== undefined && now.startTime === startTime && now.state !== "Z" &&
    now.state !== "X";
}

/**
 * A process's arguments (`/proc/<pid>/cmdline`), or its initial environment
 * (`environ`) as `NAME=value` entries; empty when they may not be read.
 *
 * @param pid The process id.
 * @param what `cmdline` or `environ`.
 * @returns The NUL-separated entries, at most the first 256 KiB.
 */
export function procStrings(pid: number, what: "cmdline" | "environ"): string[] {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/${what}`).slice(0, 256 * 1024);
    return text.split("\0").filter((s, i, all) => s !== "" || i < all.length - 1);
  } catch {
    return [];
  }
}

/** The user id this host runs as, or `undefined` when it cannot tell. */
export function ownUid(): number | undefined {
  try {
    return Deno.uid() ?? undefined;
  } catch {
    return undefined;
  }
}
