/**
 * The error of a hot upgrade that was rolled back.
 *
 * @module
 */
import { PluginError } from "./errors.ts";
import type { UpgradePhase } from "./upgrade_options.ts";

/**
 * A hot upgrade that did not happen: the new version failed to start (or
 * to pass its health check), crashed within its probation, or the upgrade
 * was aborted. The host rolled back: the old version kept (or took back)
 * every new call, and the new version's processes were stopped.
 *
 * @example
 * ```ts
 * import { UpgradeFailedError } from "./upgrade_error.ts";
 * const error = new UpgradeFailedError("kv", {
 *   phase: "start",
 *   to: "./kv_v2.ts",
 *   reason: "it exited with code 3 during its start",
 * });
 * if (error.phase !== "start" || !error.message.includes("rolled back")) throw new Error();
 * ```
 */
export class UpgradeFailedError extends PluginError {
  /** Where the upgrade stopped. */
  readonly phase: UpgradePhase;
  /** The version it tried to move to. */
  readonly to: string;
  /** What went wrong with the new version. */
  readonly reason: string;

  /**
   * Makes the error of a rolled-back upgrade.
   *
   * @param plugin The plugin's name.
   * @param facts Where it stopped, the new version, and why.
   * @param options The underlying error (`cause`).
   */
  constructor(
    plugin: string,
    facts: { phase: UpgradePhase; to: string; reason: string },
    options?: ErrorOptions,
  ) {
    const what = facts.phase === "start"
      ? "the new version failed to start"
      : facts.phase === "probation"
      ? "the new version crashed within its probation"
      : "the upgrade was aborted";
    super(
      plugin,
      `Cannot upgrade plugin "${plugin}" to ${facts.to}: ${what} (${facts.reason}); ` +
        "rolled back: the old version serves every call and the new version's processes " +
        "were stopped; fix the new version and upgrade again",
      options,
    );
    this.name = "UpgradeFailedError";
    this.phase = facts.phase;
    this.to = facts.to;
    this.reason = facts.reason;
  }
}
