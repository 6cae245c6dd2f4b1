/**
 * An in-process processor stage: a function over a batch's payloads, for
 * comparison and tests. Internal to `src/pipeline/`.
 *
 * @module
 */
import { create } from "../npm/protobuf.ts";
import { type Message, MessageSchema } from "../gen/redpanda/runtime/v1alpha1/message_pb.ts";
import { CallStats } from "../host/call_stats.ts";
import type { ProcessFunction } from "./config.ts";
import { payloadBytes } from "./output.ts";
import type { ProcessorStage, StageResult, StageStats } from "./processor_stage.ts";
import { filteredOut } from "./_stage_answer.ts";

/** Runs a function in the host's own process. */
export class FunctionStage implements ProcessorStage {
  readonly name: string;
  readonly #fn: ProcessFunction;
  readonly #latency = new CallStats();
  #filtered = 0;

  constructor(name: string, fn: ProcessFunction) {
    this.name = name;
    this.#fn = fn;
  }

  async process(messages: Message[]): Promise<StageResult> {
    const started = performance.now();
    const out = await this.#fn(messages.map(payloadBytes));
    this.#latency.record(performance.now() - started, false);
    const result = {
      messages: out.map((bytes) =>
        create(MessageSchema, { payload: { case: "bytes", value: bytes } })
      ),
      dead: [],
    };
    this.#filtered += filteredOut(messages.length, result);
    return result;
  }

  stats(): StageStats {
    return {
      name: this.name,
      kind: "processor",
      processes: 0,
      restarts: 0,
      retries: 0,
      bisections: 0,
      filtered: this.#filtered,
      ...this.#latency.snapshot(),
    };
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}
