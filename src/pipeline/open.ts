/**
 * Opens the input and outputs a configuration names: built-in or plugin.
 *
 * @module
 */
import type { InputConfig, OutputConfig } from "./config.ts";
import { fileInput, generateInput, stdinInput } from "./builtin_inputs.ts";
import { FileOutput } from "./file_output.ts";
import type { PipelineInput } from "./input.ts";
import { dropOutput, type PipelineOutput, stdioOutput } from "./output.ts";
import { pluginInput, pluginOutput } from "./plugin_io.ts";
import { NatsJetStreamInput } from "./nats_input.ts";
import { NatsJetStreamOutput } from "./nats_output.ts";
import type { StageOptions } from "./processor_stage.ts";

/**
 * Opens an input.
 *
 * @param config Which input.
 * @param options Logger and events for a plugin input; messages to skip (a resumed run).
 * @returns The input.
 */
export async function openInput(
  config: InputConfig,
  options: StageOptions & { skip?: number } = {},
): Promise<PipelineInput> {
  switch (config.kind) {
    case "stdin":
      return stdinInput();
    case "file":
      return fileInput(config.path, options.skip);
    case "generate":
      return generateInput({ ...config, skip: options.skip ?? 0 });
    case "plugin":
      return await pluginInput(config.plugin, options);
    case "nats_jetstream":
      return new NatsJetStreamInput(config.nats);
  }
}

/** Options for {@linkcode openOutput}. */
export interface OpenOutputOptions extends StageOptions {
  /** The configuration field of the output (`output`, `dead_letter`), for errors. */
  field?: string;
  /** A resumed run: the file's length at the last checkpoint. */
  resumeAt?: number;
  /** Told what a file output cut, and why. */
  onNotice?: (text: string) => void;
}

/**
 * Opens an output.
 *
 * @param config Which output.
 * @param options Logger and events for a plugin output; how to open a file.
 * @returns The output.
 */
export async function openOutput(
  config: OutputConfig,
  options: OpenOutputOptions = {},
): Promise<PipelineOutput> {
  switch (config.kind) {
    case "stdout":
    case "stderr":
      return stdioOutput(config.kind);
    case "file":
      return await FileOutput.open(config.path, {
        mode: config.mode,
        field: `${options.field ?? "output"}.file.mode`,
        ...(options.resumeAt === undefined ? {} : { resumeAt: options.resumeAt }),
        ...(options.onNotice ? { onNotice: options.onNotice } : {}),
      });
    case "drop":
      return dropOutput();
    case "plugin":
      return await pluginOutput(config.plugin, options);
    case "nats_jetstream":
      return new NatsJetStreamOutput(config.nats);
  }
}
