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
