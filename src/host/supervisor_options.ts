/**
 * The options, events and statistics of {@linkcode Supervisor}'s public API.
 *
 * @module
 */
import type { CallStatsSnapshot } from "./call_stats.ts";
import type { ExitStatus } from "./errors.ts";
import type { PluginOptions } from "./plugin_options.ts";
import type { RestartPolicy } from "./restart_policy.ts";
import type { UpgradeEvent } from "./upgrade_options.ts";

/** Where a supervisor is: `failed` after its crash budget ran out, until `reset()`. */
export type SupervisorState = "starting" | "running" | "failed" | "stopped";

/** Where one supervised process slot is. */
export type SlotState = "starting" | "ready" | "restarting" | "failed" | "stopped";

/** Something that happened to a supervised plugin. */
export type SupervisorEvent =
  | { type: "started"; plugin: string; slot: number; pid: number; restarts: number }
  | {
    type: "crashed";
    plugin: string;
    slot: number;
    pid: number;
    status: ExitStatus;
    reason: string;
    stderrTail: string[];
  }
  | { type: "killed"; plugin: string; slot: number; pid: number; reason: string }
  | { type: "restarting"; plugin: string; slot: number; attempt: number; delayMs: number }
  | { type: "restart-failed"; plugin: string; slot: number; error: string }
  | { type: "failed"; plugin: string; reason: string }
  | { type: "reset"; plugin: string }
  | { type: "stopped"; plugin: string }
  | UpgradeEvent;

/**
 * Options for {@linkcode Supervisor.start}: the plugin (`plugin`), and how
 * to supervise it. `plugin.signal` aborts the first start only; restarts
 * and `reset()` are not bound by it.
 *
 * @example
 * ```ts ignore
 * await using sup = await Supervisor.start({
 *   plugin: { module: "./plugin.ts", limits: { heapMb: 256 } },
 *   size: 2,
 *   restart: { maxCrashes: 3 },
 * });
 * ```
 */
export interface SupervisorOptions {
  /** The plugin. */
  plugin: PluginOptions;
  /**
   * How many identical plugin processes to run; calls go to the least busy.
   * @default {1}
   */
  size?: number;
  /** Backoff and crash budget (one budget for all the processes). */
  restart?: RestartPolicy;
  /**
   * Deadline of a call that names none, in milliseconds.
   * @default {30000}
   */
  callTimeoutMs?: number;
  /**
   * Deadlines missed in a row after which a plugin counts as hung and is killed.
   * @default {3}
   */
  maxMissedDeadlines?: number;
  /**
   * How often to check each plugin's health, in milliseconds; 0 turns checks off.
   * A plugin that fails a check is killed and restarted.
   * @default {5000}
   */
  healthIntervalMs?: number;
  /** Receives every event. Must not throw. */
  onEvent?: (event: SupervisorEvent) => void;
  /** The clock for the crash budget. @default {Date.now} */
  now?: () => number;
  /** Randomness for jitter. @default {Math.random} */
  random?: () => number;
}

/** Statistics of one supervised process slot. */
export interface PluginStats extends CallStatsSnapshot {
  /** The plugin's name (with `#slot` in a pool). */
  name: string;
  /** The slot's index in the pool. */
  slot: number;
  /** The slot's state. */
  state: SlotState;
  /** The current process id, when one runs. */
  pid?: number;
  /** How often this slot's plugin was restarted. */
  restarts: number;
  /** Calls in flight now. */
  inFlight: number;
  /** The current process's resident set size, in bytes. */
  rssBytes?: number;
  /** The last unexpected exit. */
  lastExit?: { status: ExitStatus; reason: string; stderrTail: string[]; at: Date };
}
