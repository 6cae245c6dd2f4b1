/**
 * What the log and stop attack tests share: running a host script as its
 * own process, so that an attack that crashes or freezes a host is seen
 * rather than suffered by the test runner.
 *
 * @module
 */

/** How a host subprocess ended, and what it printed. */
export interface HostRun {
  /** Its exit code. */
  code: number;
  /** Its stdout lines parsed as JSON, one fact per line. */
  facts: Record<string, unknown>[];
  /** Its stderr, as text. */
  stderr: string;
}

/** The fixtures of the log and stop attacks. */
export const HOSTILE_FIXTURES = new URL("./fixtures/", import.meta.url);

/**
 * Runs `deno run -A <script> <args…>` to its end, with the extra
 * environment `env`. After `timeoutMs` (a safety net, not a verdict) it is
 * killed with SIGKILL: a host whose stop hangs may not heed SIGTERM.
 */
export function runHost(
  script: string,
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<HostRun> {
  return runDeno([new URL(script, HOSTILE_FIXTURES).pathname, ...args], options);
}

/** Runs `deno run -A <args…>` as {@linkcode runHost} does. */
export async function runDeno(
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<HostRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
  const output = await child.output();
  clearTimeout(timer);
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  const facts = text(output.stdout).split("\n").filter((l) => l.startsWith("{")).map((l) =>
    JSON.parse(l) as Record<string, unknown>
  );
  return { code: output.code, facts, stderr: text(output.stderr) };
}

/** Process ids whose command line holds `marker`. */
export function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      if (cmdline.includes(marker)) pids.push(Number(entry.name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
