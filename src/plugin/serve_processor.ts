/**
 * A batch processor plugin in a few lines: {@linkcode serveProcessor}
 * serves Redpanda Connect's `BatchProcessorService` around one function.
 *
 * @module
 */
import { printManifestIfAsked } from "./component_manifest.ts";
import type { PlainValue } from "../protocol/redpanda_value.ts";
import type { BatchMessage } from "./batch_message.ts";
import { type BatchServeOptions, serveComponent } from "./_serve_component.ts";

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
export async function serveProcessor(
  process: ProcessBatch,
  options: ServeProcessorOptions = {},
): Promise<void> {
  // loaded on first use: plugins that serve other services never pay for it
  const { processorService } = await import("./_processor_service.ts");
  printManifestIfAsked("processor", options.manifest);
  return await serveComponent(processorService(process, options), options);
}
