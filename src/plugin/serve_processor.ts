/**
 * A batch processor plugin in a few lines: {@linkcode serveProcessor}
 * serves Redpanda Connect's `BatchProcessorService` around one function.
 *
 * @module
 */
import { create } from "../npm/protobuf.ts";
import type { ServiceImpl } from "../npm/connect.ts";
import { MessageBatchSchema } from "../gen/redpanda/runtime/v1alpha1/message_pb.ts";
import {
  BatchProcessorCloseResponseSchema,
  BatchProcessorInitResponseSchema,
  BatchProcessorProcessBatchResponseSchema,
  BatchProcessorService,
} from "../gen/redpanda/runtime/v1alpha1/processor_pb.ts";
import { fromValue, type PlainValue } from "../protocol/redpanda_value.ts";
import type { BatchMessage } from "./batch_message.ts";
import { failure, fromProto, toProto } from "./_wire.ts";
import { type BatchServeOptions, exitSoonAfterClose, serveComponent } from "./_serve_component.ts";
import { service } from "./serve.ts";

export type { BatchServeOptions };

/** What a batch function gets besides the batch. */
export interface BatchContext {
  /** The component's configuration from the pipeline (`null` when none). */
  config: PlainValue;
}

/**
 * Processes one batch: return the resulting messages (fewer to filter, none
 * to drop the batch), or nothing to pass on the batch as mutated. Throwing
 * fails the whole batch; set `message.error` to fail one message.
 */
export type ProcessBatch = (
  batch: BatchMessage[],
  context: BatchContext,
) => BatchMessage[] | void | Promise<BatchMessage[] | void>;

/** Options for {@linkcode serveProcessor}. */
export interface ServeProcessorOptions extends BatchServeOptions {
  /** Checks the configuration once, before any batch; throwing refuses it. */
  init?: (config: PlainValue) => void | Promise<void>;
  /** Releases resources when the host closes the processor. */
  close?: () => void | Promise<void>;
}

/**
 * Serves a batch processor until the host stops the plugin, then exits the
 * process. Works under a Bulkhead host in both launch modes and under
 * Redpanda Connect: when `REDPANDA_CONNECT_PLUGIN_ADDRESS` is set it listens
 * there and prints nothing; otherwise it speaks go-plugin's handshake
 * (through {@linkcode serve}: magic cookie, handshake line, health).
 *
 * @param process The batch function.
 * @param options Init and close hooks, transport settings.
 * @returns Resolves only when `options.signal` aborts; otherwise the process exits when the host stops it.
 * @example
 * ```ts ignore
 * import { serveProcessor } from "./serve_processor.ts";
 * await serveProcessor((batch) => {
 *   for (const message of batch) message.text = message.text.toUpperCase();
 * });
 * ```
 */
export function serveProcessor(
  process: ProcessBatch,
  options: ServeProcessorOptions = {},
): Promise<void> {
  let config: PlainValue = null;
  const implementation: Partial<ServiceImpl<typeof BatchProcessorService>> = {
    async init(request) {
      try {
        config = fromValue(request.config);
        await options.init?.(config);
        return create(BatchProcessorInitResponseSchema, {});
      } catch (error) {
        return create(BatchProcessorInitResponseSchema, {
          error: failure(error, "init failed"),
        });
      }
    },
    async processBatch(request) {
      const batch = (request.batch?.messages ?? []).map(fromProto);
      try {
        const result = (await process(batch, { config })) ?? batch;
        return create(BatchProcessorProcessBatchResponseSchema, {
          batches: result.length === 0
            ? []
            : [create(MessageBatchSchema, { messages: result.map((m) => toProto(m)) })],
        });
      } catch (error) {
        return create(BatchProcessorProcessBatchResponseSchema, {
          error: failure(error, "processing failed"),
        });
      }
    },
    async close() {
      try {
        await options.close?.();
        return create(BatchProcessorCloseResponseSchema, {});
      } catch (error) {
        return create(BatchProcessorCloseResponseSchema, {
          error: failure(error, "close failed"),
        });
      } finally {
        if (!options.signal) exitSoonAfterClose();
      }
    },
  };
  return serveComponent(service(BatchProcessorService, implementation), options);
}
