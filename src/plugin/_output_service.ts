/**
 * The implementation behind {@linkcode serveOutput}, loaded only when a plugin
 * calls it: its generated descriptors and wire conversions cost every other
 * plugin time and memory at start.
 *
 * @module
 */
import { create } from "../npm/protobuf.ts";
import type { ServiceImpl } from "../npm/connect.ts";
import {
  BatchOutputCloseResponseSchema,
  BatchOutputConnectResponseSchema,
  BatchOutputInitResponseSchema,
  BatchOutputSendResponseSchema,
  BatchOutputService,
} from "../gen/redpanda/runtime/v1alpha1/output_pb.ts";
import { fromValue, type PlainValue } from "../protocol/redpanda_value.ts";
import { failure, fromProto } from "./_wire.ts";
import { exitSoonAfterClose } from "./_serve_component.ts";
import { type PluginService, service } from "./serve.ts";
import type { ServeOutputOptions, WriteBatch } from "./serve_output.ts";

/** Makes the service `serveOutput` serves. */
export function outputService(
  write: WriteBatch,
  options: ServeOutputOptions,
): PluginService {
  let config: PlainValue = null;
  const implementation: Partial<ServiceImpl<typeof BatchOutputService>> = {
    async init(request) {
      try {
        config = fromValue(request.config);
        await options.init?.(config);
        return create(BatchOutputInitResponseSchema, { maxInFlight: options.maxInFlight ?? 1 });
      } catch (error) {
        return create(BatchOutputInitResponseSchema, { error: failure(error), maxInFlight: 1 });
      }
    },
    async connect() {
      try {
        await options.connect?.();
        return create(BatchOutputConnectResponseSchema, {});
      } catch (error) {
        return create(BatchOutputConnectResponseSchema, { error: failure(error) });
      }
    },
    async send(request) {
      try {
        await write((request.batch?.messages ?? []).map(fromProto), { config });
        return create(BatchOutputSendResponseSchema, {});
      } catch (error) {
        return create(BatchOutputSendResponseSchema, { error: failure(error) });
      }
    },
    async close() {
      try {
        await options.close?.();
        return create(BatchOutputCloseResponseSchema, {});
      } catch (error) {
        return create(BatchOutputCloseResponseSchema, { error: failure(error) });
      } finally {
        if (!options.signal) exitSoonAfterClose();
      }
    },
  };
  return service(BatchOutputService, implementation);
}
