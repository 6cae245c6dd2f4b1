/**
 * Reloading a running pipeline's plugin processors: each stage's processes
 * swapped by a hot upgrade for its plugin as it is now on disk, with no
 * batch lost or written twice (see `Supervisor.upgrade`). `bulkhead run`
 * reloads on SIGHUP and, with `--watch`, when a plugin file changes.
 *
 * @module
 */
import type { UpgradeResult } from "../host/upgrade_options.ts";
import { UpgradeFailedError } from "../host/upgrade_error.ts";
import type { ProcessorStage } from "./processor_stage.ts";

/** Options for {@linkcode PipelineControl.reload}. */
export interface ReloadOptions {
  /** The processor stages to reload, by name. @default {every plugin processor} */
  stages?: readonly string[];
  /** Abandons reloads not yet past their probation (they roll back). */
  signal?: AbortSignal;
}

/** How the reload of one stage ended. */
export type StageReload =
  | { stage: string; status: "upgraded"; result: UpgradeResult }
  | {
    stage: string;
    /** `rolled-back`: the new version failed, the old one serves; `failed`: the stage could not be upgraded at all. */
    status: "rolled-back" | "failed";
    error: Error;
  };

/** What a running pipeline offers besides its progress (see `RunPipelineOptions.onStart`). */
export interface PipelineControl {
  /**
   * Reloads plugin processor stages from their plugin files, one hot
   * upgrade per stage (stages in parallel). A reload asked for while the
   * same stage is reloading runs once that one ends; several asked for
   * meanwhile run as one.
   *
   * @param options Which stages; an abort signal.
   * @returns How each stage's reload ended (never rejects).
   */
  reload(options?: ReloadOptions): Promise<StageReload[]>;
}

/** Options a stage's hot upgrade takes (see `ProcessorStage.upgrade`). */
export interface StageUpgradeOptions {
  /** Abandons the upgrade (it rolls back). */
  signal?: AbortSignal;
}

/** A processor stage that can swap its processes for a new version. */
export interface UpgradableStage extends ProcessorStage {
  /**
   * Swaps the stage's processes for its plugin as it is now on disk.
   *
   * @throws {UpgradeFailedError} When the new version was rolled back.
   */
  upgrade(options?: StageUpgradeOptions): Promise<UpgradeResult>;
}

/** Whether a stage can be upgraded (plugin stages can; in-process ones cannot). */
export function isUpgradable(stage: ProcessorStage): stage is UpgradableStage {
  return typeof (stage as Partial<UpgradableStage>).upgrade === "function";
}

/**
 * The {@linkcode PipelineControl} of a run over its stages. `close()`
 * abandons reloads under way and waits for them (at the end of the run,
 * before the stages stop).
 *
 * @example
 * ```ts ignore
 * const reloads = new StageReloads(stages);
 * const results = await reloads.reload({ stages: ["upper"] });
 * await reloads.close();
 * ```
 */
export class StageReloads implements PipelineControl {
  readonly #stages: readonly ProcessorStage[];
  readonly #closing = new AbortController();
  /** Per stage: the reload running, and the one queued after it. */
  readonly #queues = new Map<
    string,
    { running: Promise<StageReload> | undefined; next: Promise<StageReload> | undefined }
  >();

  readonly #onReload: ((reload: StageReload) => void) | undefined;

  /**
   * @param stages The run's processor stages.
   * @param onReload Told how each reload ended.
   */
  constructor(stages: readonly ProcessorStage[], onReload?: (reload: StageReload) => void) {
    this.#stages = stages;
    this.#onReload = onReload;
  }

  reload(options: ReloadOptions = {}): Promise<StageReload[]> {
    const wanted = options.stages;
    const unknown = wanted?.filter((name) => !this.#stages.some((s) => s.name === name)) ?? [];
    const stages = this.#stages.filter((s) =>
      isUpgradable(s) && (wanted === undefined || wanted.includes(s.name))
    ) as UpgradableStage[];
    const signal = options.signal
      ? AbortSignal.any([options.signal, this.#closing.signal])
      : this.#closing.signal;
    return Promise.all([
      ...stages.map((stage) => this.#enqueue(stage, signal)),
      ...unknown.map((stage): StageReload => ({
        stage,
        status: "failed",
        error: new RangeError(`Cannot reload stage "${stage}": the pipeline has no such processor`),
      })),
    ]);
  }

  /** Abandons reloads under way and waits until they have ended. */
  async close(): Promise<void> {
    this.#closing.abort(new DOMException("The pipeline run ended", "AbortError"));
    await Promise.all([...this.#queues.values()].map((q) => q.next ?? q.running));
  }

  #enqueue(stage: UpgradableStage, signal: AbortSignal): Promise<StageReload> {
    let queue = this.#queues.get(stage.name);
    if (queue === undefined) {
      this.#queues.set(stage.name, queue = { running: undefined, next: undefined });
    }
    const q = queue;
    const start = () => {
      const running = this.#upgrade(stage, signal).then((result) => {
        if (q.running === running) q.running = undefined;
        return result;
      });
      return q.running = running;
    };
    if (q.running === undefined) return start();
    // one more after the running one; requests meanwhile join it
    return q.next ??= q.running.then(() => {
      q.next = undefined;
      return start();
    });
  }

  async #upgrade(stage: UpgradableStage, signal: AbortSignal): Promise<StageReload> {
    const reload = await this.#attempt(stage, signal);
    try {
      this.#onReload?.(reload);
    } catch {
      // a listener's failure is not the reload's
    }
    return reload;
  }

  async #attempt(stage: UpgradableStage, signal: AbortSignal): Promise<StageReload> {
    try {
      if (this.#closing.signal.aborted) throw this.#closing.signal.reason;
      const result = await stage.upgrade({ signal });
      return { stage: stage.name, status: "upgraded", result };
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      const status = err instanceof UpgradeFailedError ? "rolled-back" : "failed";
      return { stage: stage.name, status, error: err };
    }
  }
}

/**
 * Describes how a stage's reload ended, for people.
 *
 * @param reload The outcome.
 * @returns One line, e.g. `reloaded "upper": new batches on pids 7,8 after 912 ms; 3 batches finished on the old version in 40 ms`.
 * @example
 * ```ts
 * import { formatReload } from "./reload.ts";
 * const line = formatReload({ stage: "upper", status: "failed", error: new Error("no") });
 * if (line !== 'cannot reload "upper": no') throw new Error(line);
 * ```
 */
export function formatReload(reload: StageReload): string {
  if (reload.status !== "upgraded") {
    return reload.status === "rolled-back"
      ? reload.error.message
      : `cannot reload "${reload.stage}": ${reload.error.message}`;
  }
  const r = reload.result;
  const cut = r.cut > 0 ? `; ${r.cut} cut at the drain timeout and sent again` : "";
  return `reloaded "${reload.stage}": new batches on pids ${r.newPids.join(",")} after ` +
    `${Math.round(r.switchMs)} ms; ${r.drained} batches finished on the old version in ` +
    `${Math.round(r.drainMs)} ms${cut}`;
}
