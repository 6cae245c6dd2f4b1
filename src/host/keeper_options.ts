/**
 * The options and states of a {@linkcode Keeper}.
 *
 * @module
 */
import type { Plugin } from "./plugin.ts";
import type { PluginOptions } from "./plugin_options.ts";
import type { CrashBudget } from "./restart_policy.ts";
import type { SupervisorEvent } from "./supervisor_options.ts";

/**
 * Where a keeper is, and what each state holds (a tagged union: a state
 * carries only its own data, and entering one clears the last one's timers).
 */
export type KeeperState =
  | { t: "starting"; launch: AbortController }
  | {
    t: "ready";
    plugin: Plugin;
    generation: number;
    health: ReturnType<typeof setInterval> | undefined;
    /** Deadlines missed in a row. */
    missed: number;
    /** Why the keeper killed this process, once it did. */
    killReason: string | undefined;
    /** A restarted process that has not yet served a call. */
    fresh: boolean;
  }
  | { t: "restarting"; timer: ReturnType<typeof setTimeout>; attempt: number }
  | { t: "failed"; reason: string }
  | { t: "stopped" };

/** Options for a {@linkcode Keeper}: the plugin and what it shares with its pool. */
export interface KeeperOptions {
  /** The plugin; its `signal` is ignored (see {@linkcode Keeper.start}). */
  plugin: PluginOptions;
  /** The keeper's name (its pool's, with `#slot` in a pool of several). */
  name: string;
  /** Its index in its pool. */
  slot: number;
  /** The crash budget, shared by the pool's keepers. */
  budget: CrashBudget;
  /** How often to check health, in milliseconds; 0 turns checks off. */
  healthIntervalMs: number;
  /** Deadlines missed in a row after which the process counts as hung and is killed. */
  maxMissedDeadlines: number;
  /** Receives every event. */
  emit: (event: SupervisorEvent) => void;
  /** Called after every change of state. */
  onChange: () => void;
  /** Called when a crash spends the budget: the pool fails, with this reason. */
  onBudgetSpent: (reason: string) => void;
}
