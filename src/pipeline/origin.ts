/**
 * Where each message of a built-in input came from, stamped into its
 * metadata as `bulkhead_origin` — `generate:<n>` for the n-th generated
 * message, `<path>:<line>` for a file's line, `stdin:<line>` — so an output
 * with `msg_id: auto` can name it deterministically (a `nats_jetstream`
 * input's messages carry `nats_stream` and `nats_sequence_stream` instead).
 * Only pipelines whose output asks for it pay for the metadata.
 *
 * @module
 */
import { StructValueSchema, ValueSchema } from "../gen/redpanda/runtime/v1alpha1/message_pb.ts";
import { create } from "../npm/protobuf.ts";
import type { PipelineConfig } from "./config.ts";
import type { PipelineInput } from "./input.ts";

/** The metadata key. */
export const ORIGIN_KEY = "bulkhead_origin";

/**
 * Wraps a built-in input so that its messages carry their origin, when the
 * pipeline's output has `msg_id: auto`; returns any other input as it is.
 *
 * @param input The opened input.
 * @param config The pipeline (which input, which output).
 * @returns The input, stamping origins or not.
 * @example
 * ```ts
 * import { parsePipelineConfig } from "./config.ts";
 * import { generateInput } from "./builtin_inputs.ts";
 * import { withOrigins } from "./origin.ts";
 * const config = parsePipelineConfig(
 *   "input: { generate: { count: 2 } }\noutput: { nats_jetstream: { subject: out, msg_id: auto } }\n",
 * );
 * const input = withOrigins(generateInput({ count: 2, rate: undefined, messages: ["m"] }), config);
 * const chunk = await input.read(new AbortController().signal);
 * const origin = chunk?.messages[1]?.metadata?.fields.bulkhead_origin?.kind.value;
 * if (origin !== "generate:2") throw new Error(String(origin));
 * ```
 */
export function withOrigins(input: PipelineInput, config: PipelineConfig): PipelineInput {
  if (config.output.kind !== "nats_jetstream" || config.output.nats.msgId !== "auto") return input;
  const source = config.input;
  const prefix = source.kind === "generate"
    ? "generate"
    : source.kind === "file"
    ? source.path
    : source.kind === "stdin"
    ? "stdin"
    : undefined;
  if (prefix === undefined) return input;
  let next = 1;
  return {
    name: input.name,
    async read(signal) {
      const chunk = await input.read(signal);
      for (const message of chunk?.messages ?? []) {
        const value = create(ValueSchema, {
          kind: { case: "stringValue", value: `${prefix}:${next++}` },
        });
        message.metadata ??= create(StructValueSchema, {});
        message.metadata.fields[ORIGIN_KEY] = value;
      }
      return chunk;
    },
    close: () => input.close(),
  };
}
