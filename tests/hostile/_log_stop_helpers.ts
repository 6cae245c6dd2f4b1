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
 * Runs `deno run -A <script> <args…>` to its end (killed after `timeoutMs`,
 * a safety net only), with the extra environment `env`.
 */
export async function runHost(
  script: string,
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<HostRun> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(script, HOSTILE_FIXTURES).pathname, ...args],
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(options.timeoutMs ?? 120_000),
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  const facts = text(output.stdout).split("\n").filter((l) => l.startsWith("{")).map((l) =>
    JSON.parse(l) as Record<string, unknown>
  );
  return { code: output.code, facts, stderr: text(output.stderr) };
}
