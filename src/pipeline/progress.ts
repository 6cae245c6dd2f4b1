/**
 * How a running pipeline shows itself: a one-line live status for a
 * terminal and a summary at the end.
 *
 * @module
 */
import type { PipelineProgress, PipelineSummary } from "./engine.ts";
import type { StageStats } from "./processor_stage.ts";
import type { SupervisorEvent } from "../host/supervisor.ts";

const number = new Intl.NumberFormat("en-US");

function ms(value: number): string {
  return value < 10 ? value.toFixed(2) : value.toFixed(0);
}

/** A stage's name, with its role when it is not a processor: `source (input)`. */
function label(stage: StageStats): string {
  return stage.kind === "processor"
    ? stage.name
    : `${stage.name} (${stage.kind.replace("_", " ")})`;
}

/** `1 batch`, `2 batches`: a count and its noun, singular or plural. */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${number.format(n)} ${n === 1 ? one : many}`;
}

const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

/** A rate per second people read at a glance: `0.5/s`, `840/s`, `12.3k/s`, `1.2M/s`. */
export function rate(perSecond: number): string {
  if (perSecond > 0 && perSecond < 10) return `${perSecond.toFixed(1).replace(/\.0$/, "")}/s`;
  return `${compact.format(Math.round(perSecond))}/s`;
}

/**
 * Cuts a line to a terminal's width (an ellipsis marks the cut), so that
 * redrawing it in place never wraps onto a second row.
 *
 * @param line The line, without a newline.
 * @param columns The terminal's width.
 * @returns The line, at most `columns - 1` characters.
 */
export function fitToWidth(line: string, columns: number): string {
  const room = Math.max(1, columns - 1); // the last column would wrap on some terminals
  const chars = [...line];
  return chars.length <= room ? line : `${chars.slice(0, room - 1).join("")}…`;
}

/**
 * Formats the live status line: totals, rates since the last line, per-stage
 * latency, restarts.
 *
 * @param now The current progress.
 * @param before The previous progress (for rates), if any.
 * @returns One line without a newline.
 * @example
 * ```ts
 * import { formatProgressLine } from "./progress.ts";
 * const p = { elapsedMs: 1000, messagesIn: 10, messagesOut: 8, deadLetters: 0, filtered: 2, batches: 1, inFlight: 1, stages: [] };
 * if (!formatProgressLine(p).includes("out 8")) throw new Error();
 * ```
 */
export function formatProgressLine(now: PipelineProgress, before?: PipelineProgress): string {
  const seconds = Math.max(0.001, (now.elapsedMs - (before?.elapsedMs ?? 0)) / 1000);
  const rateIn = (now.messagesIn - (before?.messagesIn ?? 0)) / seconds;
  const rateOut = (now.messagesOut - (before?.messagesOut ?? 0)) / seconds;
  const parts = [
    `in ${number.format(now.messagesIn)} (${rate(rateIn)})`,
    `out ${number.format(now.messagesOut)} (${rate(rateOut)})`,
    `${count(now.inFlight, "batch", "batches")} in flight`,
  ];
  for (const stage of now.stages) {
    parts.push(`${label(stage)} p50 ${ms(stage.p50Ms)} ms, ${count(stage.restarts, "restart")}`);
  }
  if (now.deadLetters > 0) parts.push(`dead ${number.format(now.deadLetters)}`);
  if (now.inputLag !== undefined) parts.push(`lag ${number.format(now.inputLag)}`);
  if (now.inputStatus !== undefined) parts.push(`input: ${now.inputStatus}`);
  if (now.outputStatus !== undefined) parts.push(`output: ${now.outputStatus}`);
  if (now.filtered > 0) parts.push(`filtered ${number.format(now.filtered)}`);
  return parts.join(" · ");
}

/**
 * Formats the summary at the end of a run.
 *
 * @param summary The run's summary.
 * @returns Lines ending in a newline.
 * @example
 * ```ts
 * import { formatSummary } from "./progress.ts";
 * const text = formatSummary({
 *   file: "p.yaml", status: "completed", elapsedMs: 2000, messagesIn: 10, messagesOut: 10,
 *   deadLetters: 0, filtered: 0, batches: 1, inFlight: 0, stages: [], messagesPerSecond: 5,
 * });
 * if (!text.startsWith("p.yaml: completed")) throw new Error(text);
 * ```
 */
export function formatSummary(summary: PipelineSummary): string {
  const lines = [
    `${summary.file}: ${summary.status} in ${(summary.elapsedMs / 1000).toFixed(2)} s` +
    (summary.error ? ` — ${summary.error}` : ""),
    `  messages: ${number.format(summary.messagesIn)} in, ${
      number.format(summary.messagesOut)
    } out` +
    `, ${number.format(summary.deadLetters)} dead-lettered, ${
      number.format(summary.filtered)
    } filtered, ${count(summary.batches, "batch", "batches")}` +
    ` (${rate(summary.messagesPerSecond).replace("/s", " messages/s")})`,
  ];
  for (const stage of summary.stages) {
    const calls = `${count(stage.calls, "call")}, p50 ${ms(stage.p50Ms)} ms, p99 ${
      ms(stage.p99Ms)
    } ms, ${count(stage.restarts, "restart")}`;
    lines.push(
      stage.kind === "processor"
        ? `  ${stage.name}: ${stage.processes} process${stage.processes === 1 ? "" : "es"}, ` +
          `${count(stage.calls, "call")}, p50 ${ms(stage.p50Ms)} ms, p99 ${ms(stage.p99Ms)} ms, ` +
          `${count(stage.restarts, "restart")}, ${
            count(stage.retries, "retried batch", "retried batches")
          }, ` +
          `${count(stage.bisections, "bisection")}` +
          (stage.filtered > 0 ? `, ${number.format(stage.filtered)} filtered` : "")
        : `  ${label(stage)}: ${calls}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Formats a supervisor event worth an operator's attention: a crash (a
 * restart follows unless a "gave up" line does), a kill, a failed restart,
 * a plugin given up on. Input, processor and output plugins alike.
 *
 * @param event The event.
 * @returns One line without a newline, or undefined for routine events (starts, stops).
 * @example
 * ```ts
 * import { formatEvent } from "./progress.ts";
 * const line = formatEvent({ type: "failed", plugin: "source", reason: "5 crashes within 60 s" });
 * if (line !== 'plugin "source" gave up: 5 crashes within 60 s') throw new Error(line);
 * ```
 */
export function formatEvent(event: SupervisorEvent): string | undefined {
  switch (event.type) {
    case "crashed":
      return `plugin "${event.plugin}" (pid ${event.pid}) crashed: ${event.reason}`;
    case "killed":
      return `plugin "${event.plugin}" (pid ${event.pid}) killed: ${event.reason}`;
    case "restart-failed":
      return `plugin "${event.plugin}" failed to restart: ${event.error}`;
    case "failed":
      return `plugin "${event.plugin}" gave up: ${event.reason}`;
    case "upgrade-started":
      return `plugin "${event.plugin}": upgrading to ${event.to}`;
    default:
      return undefined;
  }
}
