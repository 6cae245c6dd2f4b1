/**
 * Resource limits for plugin processes, and the words for a plugin that hit
 * one.
 *
 * - `heapMb`: V8's old-space limit for Deno plugins
 *   (`--v8-flags=--max-old-space-size`). It caps the JavaScript heap only,
 *   not ArrayBuffers.
 * - `dataMb`, `cpuSeconds`, `openFiles`: `RLIMIT_DATA`, `RLIMIT_CPU` and
 *   `RLIMIT_NOFILE`, set by `prlimit` (util-linux), which then executes the
 *   plugin in its place, so the pid is the plugin's. Any executable. Deno
 *   itself needs a data limit of about 640 MiB or more to start; an address
 *   space limit (`RLIMIT_AS`) is useless for Deno, which reserves far more
 *   than it uses, so it is not offered.
 *
 * @module
 */
import { describeExit, type ExitStatus } from "./errors.ts";

/** Limits on one plugin process. Every field defaults to no limit. */
export interface ResourceLimits {
  /** JavaScript heap cap in MiB (Deno plugins only). */
  heapMb?: number;
  /** Data segment cap (`RLIMIT_DATA`) in MiB. */
  dataMb?: number;
  /** CPU time cap (`RLIMIT_CPU`) in seconds. */
  cpuSeconds?: number;
  /** Open file descriptor cap (`RLIMIT_NOFILE`). */
  openFiles?: number;
}

const PRLIMIT_PATHS = ["/usr/bin/prlimit", "/bin/prlimit"];

function positive(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value <= 0) {
    throw new RangeError(`Cannot apply limit ${name}: ${value} is not a positive integer`);
  }
  return value;
}

/**
 * Wraps a command line in `prlimit` for the limits that need it.
 *
 * @param limits The limits.
 * @param command The executable.
 * @param args Its arguments.
 * @returns The command line to spawn (unchanged when no rlimit is set).
 * @throws {RangeError} When a limit is not a positive integer.
 * @throws {Deno.errors.NotFound} When a limit needs `prlimit` and it is not installed.
 * @example
 * ```ts
 * import { withRlimits } from "./limits.ts";
 * const { command, args } = withRlimits({ cpuSeconds: 5 }, "/bin/plugin", ["-v"]);
 * if (!command.endsWith("prlimit") || args.join(" ") !== "--cpu=5:6 -- /bin/plugin -v") {
 *   throw new Error(args.join(" "));
 * }
 * ```
 */
export function withRlimits(
  limits: ResourceLimits,
  command: string,
  args: readonly string[],
): { command: string; args: string[] } {
  const flags: string[] = [];
  const data = positive("dataMb", limits.dataMb);
  const cpu = positive("cpuSeconds", limits.cpuSeconds);
  const files = positive("openFiles", limits.openFiles);
  positive("heapMb", limits.heapMb);
  if (data !== undefined) flags.push(`--data=${data * 1024 * 1024}`);
  // soft limit: SIGXCPU; one second later the hard limit's SIGKILL
  if (cpu !== undefined) flags.push(`--cpu=${cpu}:${cpu + 1}`);
  if (files !== undefined) flags.push(`--nofile=${files}`);
  if (flags.length === 0) return { command, args: [...args] };
  const prlimit = PRLIMIT_PATHS.find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  if (!prlimit) {
    throw new Deno.errors.NotFound(
      "Cannot apply resource limits: prlimit (util-linux) is not installed",
    );
  }
  return { command: prlimit, args: [...flags, "--", command, ...args] };
}

/**
 * Explains why a plugin exited, naming the limit it hit when the evidence
 * says so (V8's out-of-memory report on stderr, SIGXCPU, …).
 *
 * @param status How it exited.
 * @param stderrTail Its last stderr lines.
 * @param limits Its limits.
 * @returns E.g. `"exceeded its 256 MiB heap (signal SIGTRAP)"` or `"exit code 3"`.
 * @example
 * ```ts
 * import { explainExit } from "./limits.ts";
 * const why = explainExit({ code: 133, signal: "SIGTRAP" }, ["Fatal JavaScript out of memory: Reached heap limit"], { heapMb: 64 });
 * if (why !== "exceeded its 64 MiB heap (signal SIGTRAP)") throw new Error(why);
 * ```
 */
export function explainExit(
  status: ExitStatus,
  stderrTail: readonly string[],
  limits: ResourceLimits = {},
): string {
  const how = describeExit(status);
  const text = stderrTail.join("\n");
  if (/out of memory|heap limit|Allocation failed/i.test(text)) {
    return limits.heapMb !== undefined
      ? `exceeded its ${limits.heapMb} MiB heap (${how})`
      : `ran out of memory (${how})`;
  }
  if (
    status.signal === "SIGXCPU" ||
    (limits.cpuSeconds !== undefined && status.signal === "SIGKILL" && /cpu/i.test(text))
  ) {
    return `exceeded its CPU time limit of ${limits.cpuSeconds ?? "?"} s (${how})`;
  }
  if (limits.openFiles !== undefined && /too many open files/i.test(text)) {
    return `hit its limit of ${limits.openFiles} open files (${how})`;
  }
  if (
    limits.dataMb !== undefined &&
    /memory allocation|mmap|out of memory|cannot allocate/i.test(text)
  ) {
    return `hit its ${limits.dataMb} MiB data limit (${how})`;
  }
  return how;
}
