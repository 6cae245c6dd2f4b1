/**
 * One processor stage: a pool of plugin processes ({@linkcode PluginPool})
 * that processes batches, and what makes a crash cost a restart rather than
 * a message.
 *
 * A batch whose plugin crashes (or hangs past its deadline) is sent again,
 * alone (a lease `alone`), to a process with nothing else in flight — so a
 * crash there is the batch's own doing. A batch that crashes its plugin when alone is
 * bisected, and each half is handled the same way, until single messages
 * remain: one that crashes its plugin twice alone goes to the dead-letter
 * output with the reason; the rest flows on. A batch the plugin fails with
 * an error in its response is bisected at once, its failing messages
 * dead-lettered with that error; a message the plugin flags
 * (`Message.error`) is dead-lettered too.
 *
 * An answer is weighed against the plugin's response budget before it is
 * decoded (see `response_budget.ts`); one over it counts as a fault and
 * goes the way of a crash (sent again alone, bisected). A message too large
 * to send (`max_message_bytes`) is dead-lettered at once; a batch too large
 * to send, or whose answer is too large, is split in halves.
 *
 * @module
 */
import { Code, ConnectError, type Transport } from "../npm/connect.ts";
import { create } from "../npm/protobuf.ts";
import { type Message, MessageBatchSchema } from "../gen/redpanda/runtime/v1alpha1/message_pb.ts";
import { CallStats } from "../host/call_stats.ts";
import { PluginCrashedError, PluginError, PluginFailedError } from "../host/errors.ts";
import { guardedAttempt } from "../host/guarded_transport.ts";
import { PluginPool } from "../host/pool.ts";
import type { PluginComponentConfig, ProcessorConfig } from "./config.ts";
import { ENCODED_PROCESS_BATCH } from "./_encoded_methods.ts";
import type { ResponseBudget } from "./response_budget.ts";
import {
  type Attempt,
  encodedSize,
  ENVELOPE_BYTES,
  type Failure,
  filteredOut,
  readAnswer,
} from "./_stage_answer.ts";
import { FunctionStage } from "./_function_stage.ts";
import { componentPluginOptions, componentPoolOptions } from "./plugin_launch.ts";
import type { Logger } from "../host/logger.ts";
import { PoolUpgrader } from "../host/pool_upgrade.ts";
import type { UpgradeResult } from "../host/upgrade_options.ts";
import type { StageUpgradeOptions } from "./reload.ts";
import {
  type DeadLetter,
  type ProcessorStage,
  StageFailedError,
  type StageOptions,
  type StageResult,
  type StageStats,
} from "./stage.ts";

export {
  type DeadLetter,
  type ProcessorStage,
  StageFailedError,
  type StageOptions,
  type StageResult,
  type StageStats,
};

/**
 * Starts a processor stage: every process of a plugin's pool, each ready
 * (initialised with the stage's configuration), or an in-process function.
 *
 * @param config The stage.
 * @param options Logger and events.
 * @returns The running stage.
 * @throws {Error} When a process fails to start (the others are stopped).
 * @example
 * ```ts ignore
 * const stage = await startProcessorStage(config.processors[0]!);
 * const { messages, dead } = await stage.process(batch);
 * await stage.stop();
 * ```
 */
export async function startProcessorStage(
  config: ProcessorConfig,
  options: StageOptions = {},
): Promise<ProcessorStage> {
  if (config.kind === "function") return new FunctionStage(config.name, config.fn);
  const plugin = config.plugin;
  const pool = await PluginPool.start(componentPoolOptions(plugin, "processor", {
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  }));
  return new PluginStage(plugin, pool, options.logger);
}

/** Crashes alone that convict a single message. */
const CONFIRMING_CRASHES = 2;

class PluginStage implements ProcessorStage {
  readonly name: string;
  readonly #pool: PluginPool;
  readonly #plugin: PluginComponentConfig;
  readonly #logger: Logger | undefined;
  readonly #upgrader: PoolUpgrader;
  readonly #latency = new CallStats();
  readonly #maxMessageBytes: number;
  readonly #timeoutMs: number;
  readonly #budget: ResponseBudget;
  #retries = 0;
  #bisections = 0;
  #filtered = 0;
  #stopping: Promise<void> | undefined;

  constructor(plugin: PluginComponentConfig, pool: PluginPool, logger: Logger | undefined) {
    this.name = plugin.name;
    this.#pool = pool;
    this.#plugin = plugin;
    this.#logger = logger;
    this.#upgrader = new PoolUpgrader(pool);
    this.#maxMessageBytes = plugin.maxMessageBytes;
    this.#timeoutMs = plugin.timeoutMs;
    this.#budget = plugin.responseBudget;
  }

  async process(messages: Message[]): Promise<StageResult> {
    // a message that cannot be sent at all is the message's doing, not the plugin's
    const dead: DeadLetter[] = [];
    const fit: Message[] = [];
    for (const message of messages) {
      const size = encodedSize(message);
      if (size + ENVELOPE_BYTES <= this.#maxMessageBytes) fit.push(message);
      else {
        dead.push({
          message,
          stage: this.name,
          reason: `RESOURCE_EXHAUSTED: message of ${size} bytes exceeds maxMessageBytes ` +
            `${this.#maxMessageBytes} of plugin "${this.name}" (max_message_bytes)`,
        });
      }
    }
    if (fit.length === 0) return { messages: [], dead };
    const result = await this.#run(fit);
    this.#filtered += filteredOut(fit.length, result);
    return { messages: result.messages, dead: [...dead, ...result.dead] };
  }

  async #run(messages: Message[]): Promise<StageResult> {
    const first = await this.#attempt(messages, false);
    if (first.ok) return first;
    if (first.kind === "too-large") return await this.#split(messages, first.reason);
    if (first.kind === "error") return await this.#isolate(messages, first.reason);
    this.#retries++;
    return await this.#suspect(messages, first);
  }

  /**
   * A batch whose request or answer is over `max_message_bytes`: sent again
   * in halves (no crash, no retry counted), down to single messages, which
   * are dead-lettered with the reason.
   */
  async #split(messages: Message[], reason: string): Promise<StageResult> {
    if (messages.length === 1) {
      return {
        messages: [],
        dead: [{
          message: messages[0]!,
          stage: this.name,
          reason: `RESOURCE_EXHAUSTED: ${reason}`,
        }],
      };
    }
    this.#bisections++;
    const half = Math.ceil(messages.length / 2);
    const left = await this.#run(messages.slice(0, half));
    const right = await this.#run(messages.slice(half));
    return {
      messages: [...left.messages, ...right.messages],
      dead: [...left.dead, ...right.dead],
    };
  }

  /**
   * A batch under suspicion: run alone. A batch of several messages is split
   * at its first crash there (a split never drops a message, so one crash is
   * evidence enough); a single message must crash its plugin (or draw an
   * answer over the response budget)
   * {@linkcode CONFIRMING_CRASHES} times alone before it is dead-lettered, so
   * that a plugin that crashes now and then for reasons of its own (every Nth
   * call, say) does not cost an innocent message.
   */
  async #suspect(messages: Message[], last: Failure): Promise<StageResult> {
    const needed = messages.length === 1 ? CONFIRMING_CRASHES : 1;
    let crashes = 0;
    while (crashes < needed) {
      const attempt = await this.#attempt(messages, true);
      if (attempt.ok) return attempt;
      if (attempt.kind === "error") return await this.#isolate(messages, attempt.reason);
      if (attempt.kind === "too-large") return await this.#split(messages, attempt.reason);
      crashes++;
      last = attempt;
    }
    if (messages.length === 1) {
      const why = last.kind === "crash"
        ? `crashed plugin "${this.name}" ${crashes} times when alone: ${last.reason}`
        : `plugin "${this.name}" ${last.reason} (${crashes} times, alone)`;
      return { messages: [], dead: [{ message: messages[0]!, stage: this.name, reason: why }] };
    }
    this.#bisections++;
    const half = Math.ceil(messages.length / 2);
    const left = await this.#suspect(messages.slice(0, half), last);
    const right = await this.#suspect(messages.slice(half), last);
    return {
      messages: [...left.messages, ...right.messages],
      dead: [...left.dead, ...right.dead],
    };
  }

  /** A batch the plugin failed with an error: bisect to the messages that fail. */
  async #isolate(messages: Message[], reason: string): Promise<StageResult> {
    if (messages.length === 1) {
      return { messages: [], dead: [{ message: messages[0]!, stage: this.name, reason }] };
    }
    this.#bisections++;
    const half = Math.ceil(messages.length / 2);
    const parts: StageResult[] = [];
    for (const part of [messages.slice(0, half), messages.slice(half)]) {
      const attempt = await this.#attempt(part, false);
      if (attempt.ok) parts.push(attempt);
      else if (attempt.kind === "error") parts.push(await this.#isolate(part, attempt.reason));
      else if (attempt.kind === "too-large") parts.push(await this.#split(part, attempt.reason));
      else parts.push(await this.#suspect(part, attempt));
    }
    return {
      messages: parts.flatMap((p) => p.messages),
      dead: parts.flatMap((p) => p.dead),
    };
  }

  async #attempt(messages: Message[], alone: boolean): Promise<Attempt> {
    const started = performance.now();
    try {
      if (this.#stopping) {
        throw new StageFailedError(this.name, `Cannot process: stage "${this.name}" was stopped`);
      }
      // waiting for a restart counts against a batch's deadline, as its call
      // does; a batch that goes alone waits (without one) for its process to drain
      const lease = await this.#pool.lease(
        alone ? { alone } : { deadline: Date.now() + this.#timeoutMs },
      );
      const deadline = Date.now() + this.#timeoutMs;
      try {
        const response = await guardedAttempt(
          lease,
          undefined,
          (transport: Transport) =>
            transport.unary(
              ENCODED_PROCESS_BATCH,
              undefined,
              Math.max(1, deadline - Date.now()),
              undefined,
              { batch: create(MessageBatchSchema, { messages }) },
            ),
        );
        this.#latency.record(performance.now() - started, false);
        const answer = response.message;
        if (answer.error?.message) {
          return { ok: false, kind: "error", reason: `${this.name}: ${answer.error.message}` };
        }
        return readAnswer(answer.batches, messages.length, this.#budget, this.name);
      } finally {
        lease.release();
      }
    } catch (error) {
      this.#latency.record(performance.now() - started, true);
      if (error instanceof StageFailedError) throw error;
      if (error instanceof PluginFailedError) {
        throw new StageFailedError(this.name, error.message, { cause: error });
      }
      if (error instanceof PluginCrashedError) {
        return { ok: false, kind: "crash", reason: error.reason };
      }
      if (error instanceof PluginError) {
        throw new StageFailedError(this.name, error.message, { cause: error });
      }
      if (error instanceof ConnectError) {
        if (error.code === Code.ResourceExhausted) {
          return { ok: false, kind: "too-large", reason: error.rawMessage };
        }
        const reason = error.code === Code.DeadlineExceeded
          ? `missed its deadline (${error.rawMessage})`
          : `call failed (${Code[error.code]}: ${error.rawMessage})`;
        return { ok: false, kind: "crash", reason };
      }
      throw error;
    }
  }

  stats(): StageStats {
    return {
      name: this.name,
      kind: "processor",
      processes: this.#pool.keepers.length,
      restarts: this.#pool.restarts,
      retries: this.#retries,
      bisections: this.#bisections,
      filtered: this.#filtered,
      ...this.#latency.snapshot(),
    };
  }

  /**
   * Swaps the stage's processes for its plugin as it is now on disk (hot
   * upgrade): batches in flight finish on the old processes, each within
   * its deadline (`timeout`); one past it is cut and goes the way of a
   * crashed batch (sent again, to the new version), so none is lost.
   */
  upgrade(options: StageUpgradeOptions = {}): Promise<UpgradeResult> {
    return this.#upgrader.upgrade({
      plugin: componentPluginOptions(
        this.#plugin,
        "processor",
        this.#logger ? { logger: this.#logger } : {},
      ),
      drainTimeoutMs: this.#timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  stop(): Promise<void> {
    return this.#stopping ??= this.#pool.stop();
  }
}
