/**
 * A plugin's snapshot for display ({@linkcode PluginInfo}), from what its
 * start produced and where it is now. Internal to `src/host/`.
 *
 * @module
 */
import type { SpawnedPlugin } from "./_plugin_spawn.ts";
import type { ReadyPlugin } from "./_plugin_ready.ts";
import { readRss, readTreeRss } from "./call_stats.ts";
import type { Handshake } from "./handshake.ts";
import { explainExit, type ResourceLimits } from "./limits.ts";
import type { PluginInfo, PluginState } from "./plugin_options.ts";

/** Where a plugin is now. */
export interface PluginNow {
  /** Its name. */
  name: string;
  /** Its state. */
  state: PluginState;
  /** Its handshake. */
  handshake: Handshake;
  /** Why the host killed it, when it did. */
  killedFor: string | undefined;
  /** Its resource limits. */
  limits: ResourceLimits;
}

/**
 * Builds a plugin's snapshot.
 *
 * @param now Where it is now.
 * @param spawned What its spawn produced.
 * @param ready What its readiness produced.
 * @returns The snapshot.
 */
export function pluginInfo(now: PluginNow, spawned: SpawnedPlugin, ready: ReadyPlugin): PluginInfo {
  const { plan, moduleRoot, process } = spawned;
  const info: PluginInfo = {
    name: now.name,
    pid: process.pid,
    state: now.state,
    handshake: now.handshake,
    sandboxed: plan.sandbox !== "none",
    sandbox: plan.sandbox,
    permissionFlags: [...plan.flags],
    sandboxEscapes: [...plan.escapes],
    ...(moduleRoot === undefined ? {} : { moduleRoot }),
    limits: { ...now.limits },
    readyInMs: Math.round(ready.readyInMs),
    stderrTail: process.stderrTail(),
  };
  const exit = process.exitStatus;
  const rss = exit
    ? undefined
    : plan.sandbox === "bubblewrap"
    ? readTreeRss(process.pid)
    : readRss(process.pid);
  if (rss !== undefined) info.rssBytes = rss;
  if (exit) {
    info.exit = exit;
    const why = explainExit(exit, info.stderrTail, now.limits);
    info.exitReason = now.killedFor === undefined
      ? why
      : `killed by the host: ${now.killedFor} (${why})`;
  }
  return info;
}
