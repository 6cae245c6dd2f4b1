/**
 * A batch input plugin in a few lines: {@linkcode serveInput} serves
 * Redpanda Connect's `BatchInputService` around one read function.
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
import { type BatchServeOptions, exitSoonAfterClose, serveComponent } from "./_serve_component.ts";
import type { BatchContext } from "./serve_processor.ts";
import { service } from "./serve.ts";

/** Reads the next batch; `null` when the input is exhausted (the pipeline then drains and stops). */
export type ReadBatch = (
  context: BatchContext,
) => BatchMessage[] | null | Promise<BatchMessage[] | null>;

/** Options for {@linkcode serveInput}. */
export interface ServeInputOptions extends BatchServeOptions {
  /** Checks the configuration once; throwing refuses it. */
  init?: (config: PlainValue) => void | Promise<void>;
  /** Connects to the source; throwing makes the host retry with backoff. */
  connect?: () => void | Promise<void>;
  /**
   * Called once per batch the host has delivered (`error` undefined) or
   * given up on (`error` says why).
   */
  ack?: (batch: BatchMessage[], error: string | undefined) => void | Promise<void>;
  /** Releases resources when the host closes the input. */
  close?: () => void | Promise<void>;
}

/**
 * Serves a batch input until the host stops the plugin, then exits the
 * process. Launch modes as for {@linkcode serveProcessor}.
 *
 * @param read Returns the next batch, or `null` at the end.
 * @param options Init, connect, ack and close hooks.
 * @returns Resolves only when `options.signal` aborts.
 * @example
 * ```ts ignore
 * import { BatchMessage, serveInput } from "../../plugin.ts";
 * let n = 0;
 * await serveInput(() => n < 10 ? [BatchMessage.fromText(`message ${n++}`)] : null);
 * ```
 */
export function serveInput(read: ReadBatch, options: ServeInputOptions = {}): Promise<void> {
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
  return serveComponent(service(BatchInputService, implementation), options);
}
