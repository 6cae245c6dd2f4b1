/**
 * The options, result and events of a hot upgrade
 * ({@linkcode Supervisor.upgrade}): a pool's processes swapped for a new
 * version without losing a call.
 *
 * @module
 */
import type { PluginOptions } from "./plugin_options.ts";

/** Options for a hot upgrade. */
export interface UpgradeOptions {
  /**
   * The new version: a plugin's options as for a start (`module` or
   * `command`, `args`, permissions, …). Its name, logger and pool size are
   * the running version's.
   */
  plugin: PluginOptions;
  /**
   * How long calls in flight on the old version may take to finish once
   * new calls go to the new one, in milliseconds. Past it the old processes
   * are stopped: a call marked `RETRYABLE` is sent again to the new version,
   * any other fails with a `PluginCrashedError` that says so.
   * @default {30000}
   */
  drainTimeoutMs?: number;
  /**
   * How long after the switch a crash of the new version rolls the upgrade
   * back, in milliseconds. The old processes are kept (idle) until it ends.
   * @default {5000}
   */
  probationMs?: number;
  /**
   * Abandons the upgrade: until the probation ends, the old version is put
   * back and the new one stopped.
   */
  signal?: AbortSignal;
}

/** What a hot upgrade did, with its figures. */
export interface UpgradeResult {
  /** The plugin's name. */
  plugin: string;
  /** The old version's process ids (all stopped now). */
  oldPids: number[];
  /** The new version's process ids (serving now). */
  newPids: number[];
  /** From the call of `upgrade()` until new calls went to the new version (its start and health check included), in milliseconds. */
  switchMs: number;
  /** From the switch until the old processes had no call in flight, in milliseconds. */
  drainMs: number;
  /** Calls in flight on the old version at the switch, that it finished. */
  drained: number;
  /** Calls still on the old version at the drain timeout, cut (then resent when `RETRYABLE`). */
  cut: number;
}

/** Where a failed upgrade stopped. */
export type UpgradePhase = "start" | "probation" | "aborted";

/** Something that happened during a hot upgrade (also a {@linkcode SupervisorEvent}). */
export type UpgradeEvent =
  | { type: "upgrade-started"; plugin: string; from: string; to: string }
  | {
    type: "upgrade-switched";
    plugin: string;
    /** The new version's process ids. */
    pids: number[];
    switchMs: number;
    /** Calls in flight on the old version, left to finish there. */
    draining: number;
  }
  | ({ type: "upgrade-completed" } & UpgradeResult)
  | {
    type: "upgrade-rolled-back";
    plugin: string;
    phase: UpgradePhase;
    /** What went wrong with the new version. */
    reason: string;
  };

/**
 * Describes a plugin's version for messages: its module, or its command and
 * arguments.
 *
 * @param plugin The plugin's options.
 * @returns E.g. `./greeter_v2.ts` or `kv-plugin --v2`.
 * @example
 * ```ts
 * import { describeVersion } from "./upgrade_options.ts";
 * if (describeVersion({ command: "kv", args: ["--v2"] }) !== "kv --v2") throw new Error();
 * ```
 */
export function describeVersion(
  plugin: Pick<PluginOptions, "module" | "command" | "args">,
): string {
  if (plugin.module !== undefined) {
    return plugin.module instanceof URL ? plugin.module.href : plugin.module;
  }
  return [plugin.command ?? "?", ...(plugin.args ?? [])].join(" ");
}
