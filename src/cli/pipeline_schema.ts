/**
 * The JSON Schema of `pipeline.yaml` that `bulkhead run --schema` prints,
 * for editors (YAML language servers) and CI linters. The reader in
 * `src/pipeline/config.ts` stays the authority: it also checks paths,
 * commands and the environment, which a schema cannot.
 *
 * @module
 */
import { PERMISSIONS } from "../host/permissions.ts";

const DURATION = {
  type: "string",
  pattern: "^\\d+(\\.\\d+)?\\s*(ms|s|m|h)$",
  description: "A duration with its unit: 250ms, 2s, 1m, 1h",
};
const SIZE = {
  type: "string",
  pattern: "^\\d+(\\.\\d+)?\\s*([bB]|[kKmMgG][iI]?[bB])$",
  description: "A size with its unit: 512B, 64KiB, 1MB, 1GiB",
};
const STRINGS = {
  oneOf: [{ type: "string" }, { type: "array", items: { type: "string" } }],
};
const GRANT = {
  oneOf: [{ type: "boolean" }, { type: "string" }, { type: "array", items: { type: "string" } }],
};
const PLUGIN = {
  type: "object",
  additionalProperties: false,
  description: "A plugin process: a Deno module (sandboxed) or an executable",
  properties: {
    name: { type: "string" },
    module: { type: "string", description: "A Deno module, run in Deno's sandbox" },
    command: { type: "string", description: "An executable (not sandboxed)" },
    args: { type: "array", items: { type: "string" } },
    handshake: {
      enum: ["go-plugin", "none"],
      default: "go-plugin",
      description: "none: Redpanda Connect's launch (address variable, Init, no handshake line)",
    },
    launch: {
      enum: ["bulkhead", "redpanda"],
      description: "The older name of handshake: bulkhead is go-plugin, redpanda is none",
    },
    processes: { type: "integer", minimum: 1, default: 1 },
    permissions: {
      type: "object",
      additionalProperties: false,
      properties: Object.fromEntries(
        PERMISSIONS.map((p) => [p.yaml, GRANT]),
      ),
    },
    env: { type: "object", additionalProperties: { type: "string" } },
    limits: {
      type: "object",
      additionalProperties: false,
      properties: Object.fromEntries(
        ["heap_mb", "data_mb", "cpu_seconds", "open_files"].map((k) => [
          k,
          { type: "integer", minimum: 1 },
        ]),
      ),
    },
    config: { description: "Sent to the plugin's Init" },
    restart: {
      type: "object",
      additionalProperties: false,
      properties: {
        initial_delay: DURATION,
        max_delay: DURATION,
        max_crashes: { type: "integer", minimum: 1 },
        window: DURATION,
      },
    },
    timeout: DURATION,
    start_timeout: DURATION,
  },
  oneOf: [{ required: ["module"] }, { required: ["command"] }],
};
const PATH = {
  type: "object",
  additionalProperties: false,
  required: ["path"],
  properties: { path: { type: "string" } },
};
const OUTPUT = {
  oneOf: [
    { enum: ["stdout", "stderr", "drop"] },
    {
      type: "object",
      minProperties: 1,
      maxProperties: 1,
      additionalProperties: false,
      properties: {
        stdout: { type: "null" },
        stderr: { type: "null" },
        drop: { type: "null" },
        file: PATH,
        plugin: PLUGIN,
      },
    },
  ],
};

/**
 * The JSON Schema (draft 2020-12) of a pipeline file.
 *
 * @returns The schema, as plain data.
 * @example
 * ```ts
 * import { pipelineSchema } from "./pipeline_schema.ts";
 * if (!("processors" in (pipelineSchema().properties as object))) throw new Error();
 * ```
 */
export function pipelineSchema(): Record<string, unknown> {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "Bulkhead pipeline",
    description: "${VAR} and ${VAR:default} are filled in from the environment before parsing",
    type: "object",
    additionalProperties: false,
    required: ["input", "output"],
    properties: {
      input: {
        oneOf: [
          { enum: ["stdin"] },
          {
            type: "object",
            minProperties: 1,
            maxProperties: 1,
            additionalProperties: false,
            properties: {
              stdin: { type: "null" },
              file: PATH,
              generate: {
                type: "object",
                additionalProperties: false,
                properties: {
                  count: { type: "integer", minimum: 0 },
                  rate: { type: "number", minimum: 0, description: "Messages per second" },
                  message: { ...STRINGS, description: "${! i } is the message's number" },
                  messages: STRINGS,
                },
              },
              plugin: PLUGIN,
            },
          },
        ],
      },
      batching: {
        type: "object",
        additionalProperties: false,
        properties: { count: { type: "integer", minimum: 1 }, bytes: SIZE, period: DURATION },
      },
      max_in_flight: { type: "integer", minimum: 1, default: 4 },
      processors: {
        type: "array",
        items: {
          type: "object",
          additionalProperties: false,
          required: ["plugin"],
          properties: { plugin: PLUGIN },
        },
      },
      output: OUTPUT,
      dead_letter: OUTPUT,
    },
  };
}
