/**
 * The implementation behind {@linkcode serveInput}, loaded only when a plugin
 * calls it: its generated descriptors and wire conversions cost every other
 * plugin time and memory at start.
 *
 * @module
 */
import { create } from "../npm/protobuf.ts";
import type { ServiceImpl } from "../npm/connect.ts";
import {
  Error_EndOfInputSchema,
  ErrorSchema,
  MessageBatchSchema,
} from "../gen/redpanda/runtime/v1alpha1/message_pb.ts";
import {
  BatchInputAckResponseSchema,
  BatchInputCloseResponseSchema,
  BatchInputConnectResponseSchema,
  BatchInputInitResponseSchema,
  BatchInputReadResponseSchema,
  BatchInputService,
} from "../gen/redpanda/runtime/v1alpha1/input_pb.ts";
import { fromValue, type PlainValue } from "../protocol/redpanda_value.ts";
import type { BatchMessage } from "./batch_message.ts";
import { failure, toProto } from "./_wire.ts";
import { exitSoonAfterClose } from "./_serve_component.ts";
import { type PluginService, service } from "./serve.ts";
import type { ReadBatch, ServeInputOptions } from "./serve_input.ts";

/** Makes the service `serveInput` serves. */
export function inputService(
  read: ReadBatch,
  options: ServeInputOptions,
): PluginService {
  let config: PlainValue = null;
  let nextId = 1n;
  const pending = new Map<bigint, BatchMessage[]>();
  const implementation: Partial<ServiceImpl<typeof BatchInputService>> = {
    async init(request) {
      try {
        config = fromValue(request.config);
        await options.init?.(config);
        return create(BatchInputInitResponseSchema, {});
      } catch (error) {
        return create(BatchInputInitResponseSchema, { error: failure(error) });
      }
    },
    async connect() {
      try {
        await options.connect?.();
        return create(BatchInputConnectResponseSchema, {});
      } catch (error) {
        return create(BatchInputConnectResponseSchema, { error: failure(error) });
      }
    },
    async readBatch() {
      try {
        const batch = await read({ config });
        if (batch === null) {
          return create(BatchInputReadResponseSchema, {
            error: create(ErrorSchema, {
              message: "end of input",
              detail: { case: "endOfInput", value: create(Error_EndOfInputSchema, {}) },
            }),
          });
        }
        const id = nextId++;
        pending.set(id, batch);
        return create(BatchInputReadResponseSchema, {
          batchId: id,
          batch: create(MessageBatchSchema, { messages: batch.map((m) => toProto(m)) }),
        });
      } catch (error) {
        return create(BatchInputReadResponseSchema, { error: failure(error) });
      }
    },
    async ack(request) {
      const batch = pending.get(request.batchId);
      pending.delete(request.batchId);
      try {
        if (batch) await options.ack?.(batch, request.error?.message || undefined);
        return create(BatchInputAckResponseSchema, {});
      } catch (error) {
        return create(BatchInputAckResponseSchema, { error: failure(error) });
      }
    },
    async close() {
      try {
        await options.close?.();
        return create(BatchInputCloseResponseSchema, {});
      } catch (error) {
        return create(BatchInputCloseResponseSchema, { error: failure(error) });
      } finally {
        if (!options.signal) exitSoonAfterClose();
      }
    },
  };
  return service(BatchInputService, implementation);
}
