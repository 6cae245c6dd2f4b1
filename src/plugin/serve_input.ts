/**
 * A batch input plugin in a few lines: {@linkcode serveInput} serves
 * Redpanda Connect's `BatchInputService` around one read function.
 *
 * @module
 */
import { printManifestIfAsked } from "./component_manifest.ts";
import type { PlainValue } from "../protocol/redpanda_value.ts";
import type { BatchMessage } from "./batch_message.ts";
import { type BatchServeOptions, serveComponent } from "./_serve_component.ts";
import type { BatchContext } from "./serve_processor.ts";

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
export async function serveInput(read: ReadBatch, options: ServeInputOptions = {}): Promise<void> {
  // loaded on first use: plugins that serve other services never pay for it
  const { inputService } = await import("./_input_service.ts");
  printManifestIfAsked("input", options.manifest);
  return await serveComponent(inputService(read, options), options);
}
