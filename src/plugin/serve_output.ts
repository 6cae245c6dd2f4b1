/**
 * A batch output plugin in a few lines: {@linkcode serveOutput} serves
 * Redpanda Connect's `BatchOutputService` around one write function.
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
import type { BatchMessage } from "./batch_message.ts";
import { failure, fromProto } from "./_wire.ts";
import { type BatchServeOptions, exitSoonAfterClose, serveComponent } from "./_serve_component.ts";
import type { BatchContext } from "./serve_processor.ts";
import { service } from "./serve.ts";

/** Writes one batch; resolving confirms it (the input is then acknowledged), throwing fails it. */
export type WriteBatch = (batch: BatchMessage[], context: BatchContext) => void | Promise<void>;

/** Options for {@linkcode serveOutput}. */
export interface ServeOutputOptions extends BatchServeOptions {
  /**
   * How many writes may run at once.
   * @default {1}
   */
  maxInFlight?: number;
  /** Checks the configuration once; throwing refuses it. */
  init?: (config: PlainValue) => void | Promise<void>;
  /** Connects to the sink; throwing makes the host retry with backoff. */
  connect?: () => void | Promise<void>;
  /** Flushes and releases resources when the host closes the output. */
  close?: () => void | Promise<void>;
}

/**
 * Serves a batch output until the host stops the plugin, then exits the
 * process. Launch modes as for {@linkcode serveProcessor}.
 *
 * @param write Writes a batch.
 * @param options Init, connect and close hooks, `maxInFlight`.
 * @returns Resolves only when `options.signal` aborts.
 * @example
 * ```ts ignore
 * import { serveOutput } from "../../plugin.ts";
 * await serveOutput((batch) => {
 *   for (const message of batch) console.error(message.text);
 * });
 * ```
 */
export function serveOutput(write: WriteBatch, options: ServeOutputOptions = {}): Promise<void> {
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
  return serveComponent(service(BatchOutputService, implementation), options);
}
