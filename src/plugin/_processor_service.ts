/**
 * The implementation behind {@linkcode serveProcessor}, loaded only when a plugin
 * calls it: its generated descriptors and wire conversions cost every other
 * plugin time and memory at start.
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
import { failure, fromProto, toProto } from "./_wire.ts";
import { exitSoonAfterClose } from "./_serve_component.ts";
import { type PluginService, service } from "./serve.ts";
import type { ProcessBatch, ServeProcessorOptions } from "./serve_processor.ts";

/** Makes the service `serveProcessor` serves. */
export function processorService(
  process: ProcessBatch,
  options: ServeProcessorOptions,
): PluginService {
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
  return service(BatchProcessorService, implementation);
}
