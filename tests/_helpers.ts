/**
 * Shared test helpers: where the fixture plugin is, and checks that nothing
 * was left behind.
 *
 * @module
 */
import assert from "node:assert/strict";

/** The fixture plugin module. */
export const FIXTURE = new URL("./fixtures/fixture_plugin.ts", import.meta.url);

/** Whether a process id is alive (or an unreaped zombie). */
export function isAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

/** Whether a path exists. */
export function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Asserts that a process is gone and a socket directory removed. */
export function assertCleanedUp(pid: number, socketDir: string): void {
  assert.equal(isAlive(pid), false, `process ${pid} is still alive`);
  assert.equal(exists(socketDir), false, `socket directory ${socketDir} was left behind`);
}

/** A logger that keeps records for assertions. */
export function memoryLogger(): {
  records: { plugin: string; level: string; message: string; source: string }[];
  logger: (r: { plugin: string; level: string; message: string; source: string }) => void;
} {
  const records: { plugin: string; level: string; message: string; source: string }[] = [];
  return { records, logger: (r) => records.push(r) };
}

/** Polls `check` every 20 ms until it is true or `ms` pass; returns its last value. */
export async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

/** The Python that has Debian's python3-grpcio (the first on PATH may not). */
export const PYTHON = "/usr/bin/python3";

/** Whether a command runs and exits 0 (a toolchain probe). */
export function runs(command: string, args: string[], env: Record<string, string> = {}): boolean {
  try {
    return new Deno.Command(command, { args, env, stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

/** `"missing a, b"` for the probes that failed, or `undefined` when none did. */
export function missing(what: Record<string, boolean>): string | undefined {
  const absent = Object.entries(what).filter(([, ok]) => !ok).map(([name]) => name);
  return absent.length > 0 ? `missing ${absent.join(", ")}` : undefined;
}

/** A test name with the skip reasons appended (and printed) when any is set. */
export function named(name: string, ...reasons: (string | undefined)[]): string {
  const why = reasons.filter((r) => r !== undefined);
  if (why.length === 0) return name;
  console.log(`interop: skipping "${name}": ${why.join("; ")}`);
  return `${name} [skipped: ${why.join("; ")}]`;
}
