/**
 * An input plugin's batch, weighed against its response budget before it
 * is decoded. Internal to `src/pipeline/`.
 *
 * @module
 */
import { fromBinary } from "../npm/protobuf.ts";
import { type Message, MessageBatchSchema } from "../gen/redpanda/runtime/v1alpha1/message_pb.ts";
import type { PluginComponentConfig } from "./config.ts";
import { weighBatches } from "./response_budget.ts";

/** An input plugin's batch over its response budget: the pipeline stops with the reason. */
export class InputBudgetError extends Error {
  /**
   * @param input The input's name.
   * @param message What it sent and which limit that broke.
   */
  constructor(input: string, message: string) {
    super(`input "${input}" ${message}`);
    this.name = "InputBudgetError";
  }
}

/**
 * An input batch, weighed against the plugin's response budget before it is
 * decoded. One over it is refused (`nack` tells the plugin why) and stops
 * the pipeline: an input that floods once will flood again.
 */
export async function decodeInputBatch(
  plugin: PluginComponentConfig,
  encoded: Uint8Array,
  nack: (reason: string) => Promise<void>,
): Promise<Message[]> {
  const budget = plugin.responseBudget;
  const weight = weighBatches([encoded], budget.messages, budget.bytes);
  let problem: string | undefined;
  if (!weight.ok) {
    problem = weight.over === "messages"
      ? `sent ${weight.messages} messages in one batch, over its response budget of ` +
        `${budget.messages} (response_budget.messages)`
      : weight.over === "bytes"
      ? `sent ${weight.messages} messages in one batch taking over ${budget.bytes} bytes ` +
        `decoded, over its response budget (response_budget.bytes)`
      : `sent a malformed batch (${weight.detail})`;
  }
  let messages: Message[] = [];
  if (problem === undefined) {
    try {
      messages = fromBinary(MessageBatchSchema, encoded).messages;
    } catch (error) {
      problem = `sent a malformed batch (${error instanceof Error ? error.message : error})`;
    }
  }
  if (problem === undefined) return messages;
  await nack(problem);
  throw new InputBudgetError(plugin.name, `${problem}; the batch was refused`);
}
