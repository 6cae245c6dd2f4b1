/**
 * A batch output plugin in a few lines: {@linkcode serveOutput} serves
 * Redpanda Connect's `BatchOutputService` around one write function.
 *
 * @module
 */
import { printManifestIfAsked } from "./component_manifest.ts";
import type { PlainValue } from "../protocol/redpanda_value.ts";
import type { BatchMessage } from "./batch_message.ts";
import { type BatchServeOptions, serveComponent } from "./_serve_component.ts";
import type { BatchContext } from "./serve_processor.ts";

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
export async function serveOutput(
  write: WriteBatch,
  options: ServeOutputOptions = {},
): Promise<void> {
  // loaded on first use: plugins that serve other services never pay for it
  const { outputService } = await import("./_output_service.ts");
  printManifestIfAsked("output", options.manifest);
  return await serveComponent(outputService(write, options), options);
}
