/**
 * A keeper's health checks of its ready process. Internal to `src/host/`.
 *
 * @module
 */
import type { Plugin } from "./plugin.ts";

/**
 * Checks `plugin`'s health every `intervalMs` (one check at a time, each
 * bounded by the interval and 5 s); an answer other than SERVING, or none
 * while the plugin is ready, calls `kill` with the reason.
 *
 * @param plugin The process.
 * @param intervalMs How often; 0 or less turns checks off.
 * @param kill Kills the process with a reason.
 * @returns The interval, for `clearInterval`; `undefined` when off.
 */
export function watchHealth(
  plugin: Plugin,
  intervalMs: number,
  kill: (reason: string) => void,
): ReturnType<typeof setInterval> | undefined {
  if (intervalMs <= 0) return undefined;
  let checking = false;
  return setInterval(async () => {
    if (checking) return;
    checking = true;
    try {
      const status = await plugin.health({ timeoutMs: Math.min(intervalMs, 5000) });
      if (status !== "SERVING") kill(`reported health ${status}`);
    } catch (error) {
      if (plugin.state === "ready") {
        kill(`failed its health check (${error instanceof Error ? error.message : error})`);
      }
    } finally {
      checking = false;
    }
  }, intervalMs);
}
