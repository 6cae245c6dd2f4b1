/**
 * Opens the input and outputs a configuration names: built-in or plugin.
 *
 * @module
 */
import type { InputConfig, OutputConfig } from "./config.ts";
import { fileInput, generateInput, stdinInput } from "./builtin_inputs.ts";
import type { PipelineInput } from "./input.ts";
import { dropOutput, fileOutput, type PipelineOutput, stdioOutput } from "./output.ts";
import { pluginInput, pluginOutput } from "./plugin_io.ts";
import { NatsJetStreamInput } from "./nats_input.ts";
import { NatsJetStreamOutput } from "./nats_output.ts";
import type { StageOptions } from "./processor_stage.ts";

/**
 * Opens an input.
 *
 * @param config Which input.
 * @param options Logger and events for a plugin input.
 * @returns The input.
 */
export async function openInput(
  config: InputConfig,
  options: StageOptions = {},
): Promise<PipelineInput> {
  switch (config.kind) {
    case "stdin":
      return stdinInput();
    case "file":
      return fileInput(config.path);
    case "generate":
      return generateInput(config);
    case "plugin":
      return await pluginInput(config.plugin, options);
    case "nats_jetstream":
      return new NatsJetStreamInput(config.nats);
  }
}

/**
 * Opens an output.
 *
 * @param config Which output.
 * @param options Logger and events for a plugin output.
 * @returns The output.
 */
export async function openOutput(
  config: OutputConfig,
  options: StageOptions = {},
): Promise<PipelineOutput> {
  switch (config.kind) {
    case "stdout":
    case "stderr":
      return stdioOutput(config.kind);
    case "file":
      return await fileOutput(config.path);
    case "drop":
      return dropOutput();
    case "plugin":
      return await pluginOutput(config.plugin, options);
    case "nats_jetstream":
      return new NatsJetStreamOutput(config.nats);
  }
}
