/**
 * A pipeline's configuration: its YAML form, read into typed, validated
 * settings. Every problem is reported at once, each as
 * `file:line: field: problem` (see {@linkcode PipelineConfigError}).
 *
 * ```yaml
 * input:
 *   generate: { count: 1000, message: "hello ${! i }" }
 * batching: { count: 100, period: 50ms }
 * max_in_flight: 4
 * processors:
 *   - plugin:
 *       module: ./plugin.ts        # or command: ./plugin.py
 *       module_root: ..            # where it may load code from (default: its folder)
 *       launch: bulkhead           # or redpanda (REDPANDA_CONNECT_PLUGIN_ADDRESS)
 *       processes: 2
 * output:
 *   file: { path: out.txt }
 * dead_letter:
 *   file: { path: dead.jsonl }
 * ```
 *
 * @module
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { PERMISSIONS, type Permissions } from "../host/permissions.ts";
import type { HandshakeMode } from "../host/plugin_options.ts";
import type { ResourceLimits } from "../host/limits.ts";
import { PIPELINE_RESTART_DEFAULTS, type RestartPolicy } from "../host/restart_policy.ts";
import { componentName } from "./_component_name.ts";
import { type PluginManifest, readManifestConfig } from "./manifest.ts";
import { ConfigReader, type Field } from "./_config_reader.ts";
import { PipelineConfigError } from "./config_error.ts";
import type { FileMode } from "./file_output.ts";
import { DEFAULT_RESPONSE_BUDGET, type ResponseBudget } from "./response_budget.ts";
import { maxMessageBytes } from "../transport/transport.ts";
import type { BatchPolicy } from "./batch_policy.ts";
import {
  type NatsInputConfig,
  type NatsOutputConfig,
  readNatsInput,
  readNatsOutput,
} from "./nats_config.ts";

export type { NatsInputConfig, NatsOutputConfig };

/** Where messages come from. */
export type InputConfig =
  | { kind: "stdin" }
  | { kind: "file"; path: string }
  | {
    kind: "generate";
    /** How many messages; unlimited when undefined. */
    count: number | undefined;
    /** Messages per second; unlimited when undefined. */
    rate: number | undefined;
    /** Templates cycled through; `${! i }` becomes the message's number (from 1). */
    messages: string[];
  }
  | { kind: "plugin"; plugin: PluginComponentConfig }
  | { kind: "nats_jetstream"; nats: NatsInputConfig };

/** Where messages go. Written as lines (payload, newline); the dead-letter output as JSON lines. */
export type OutputConfig =
  | { kind: "stdout" }
  | { kind: "stderr" }
  | {
    kind: "file";
    path: string;
    /** What to do with a file that has content: refuse (`new`, the default), `append`, `truncate`. */
    mode: FileMode;
  }
  | { kind: "drop" }
  | { kind: "plugin"; plugin: PluginComponentConfig }
  | { kind: "nats_jetstream"; nats: NatsOutputConfig };

/** A plugin used as an input, processor or output. */
export interface PluginComponentConfig {
  /** Its name in logs, progress and dead letters. */
  name: string;
  /** A Deno module (absolute path or URL). */
  module?: string;
  /** An executable (absolute path, or a name looked up in PATH). */
  command?: string;
  /** Its arguments. */
  args: string[];
  /** Its working directory: the configuration file's. */
  cwd: string;
  /**
   * How it is launched and says it is ready (YAML `handshake: go-plugin |
   * none`; the older `launch: bulkhead | redpanda` is read as the same).
   */
  handshake: HandshakeMode;
  /** How many processes (processors only). */
  processes: number;
  /** What it may touch (Deno's permissions for a module, bubblewrap's for a command). */
  permissions: Permissions;
  /**
   * Where a Deno module may load modules and imported assets from
   * (`module_root`, an absolute path); default: the module's folder.
   */
  moduleRoot?: string;
  /** `false` runs a command unsandboxed (YAML `sandbox: false`); always `true` for a module. */
  sandbox: boolean;
  /** Its pinned SHA-256 (`sha256`): refused before it starts when it differs. */
  sha256?: string;
  /** Its environment (nothing else is passed). */
  env: Record<string, string>;
  /** Resource limits per process. */
  limits: ResourceLimits;
  /** Sent to its `Init`. */
  config: unknown;
  /** Backoff and crash budget. */
  restart: RestartPolicy;
  /** Deadline of each call, in milliseconds. */
  timeoutMs: number;
  /** How long it has to start, in milliseconds. */
  startTimeoutMs: number;
  /** Largest gRPC message either way, in bytes (`max_message_bytes`, default 4 MiB). */
  maxMessageBytes: number;
  /** How much one answer may hold (`response_budget`; see {@linkcode ResponseBudget}). */
  responseBudget: ResponseBudget;
}

/** An in-process processor (for comparison and tests): maps a batch of payloads. */
export type ProcessFunction = (batch: Uint8Array[]) => Uint8Array[] | Promise<Uint8Array[]>;

/** One processor stage. */
export type ProcessorConfig =
  | { kind: "plugin"; name: string; plugin: PluginComponentConfig }
  | { kind: "function"; name: string; fn: ProcessFunction };

/** A validated pipeline configuration. */
export interface PipelineConfig {
  /** The configuration file, as given (for messages). */
  file: string;
  /** Where messages come from. */
  input: InputConfig;
  /** When a batch is complete. */
  batching: BatchPolicy;
  /** How many batches may be between input and output at once. */
  maxInFlight: number;
  /** Processor stages, in order. */
  processors: ProcessorConfig[];
  /** Where processed messages go. */
  output: OutputConfig;
  /** Where messages that could not be processed go, with the reason. */
  deadLetter: OutputConfig;
}

const INPUTS = ["stdin", "file", "generate", "plugin", "nats_jetstream"] as const;
const OUTPUTS = ["stdout", "stderr", "file", "drop", "plugin", "nats_jetstream"] as const;
const PLUGIN_FIELDS = [
  "name",
  "module",
  "module_root",
  "sha256",
  "command",
  "args",
  "handshake",
  "launch",
  "processes",
  "permissions",
  "sandbox",
  "env",
  "limits",
  "config",
  "restart",
  "timeout",
  "start_timeout",
  "max_message_bytes",
  "response_budget",
] as const;

/**
 * Reads a pipeline configuration file.
 *
 * @param path The YAML file.
 * @returns The validated configuration.
 * @throws {PipelineConfigError} Listing every problem as `file:line: field: problem`.
 * @example
 * ```ts ignore
 * const config = await loadPipelineConfig("examples/uppercase/pipeline.yaml");
 * ```
 */
export async function loadPipelineConfig(
  path: string,
  options: Pick<ParseConfigOptions, "plugins"> = {},
): Promise<PipelineConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new PipelineConfigError([{
      file: path,
      field: "",
      message: `cannot read: ${error instanceof Error ? error.message : String(error)}`,
    }], { cause: error });
  }
  return parsePipelineConfig(text, { ...options, file: path, dir: dirname(resolve(path)) });
}

/** Where a configuration text came from. */
export interface ParseConfigOptions {
  /** The file name for messages. @default {"pipeline.yaml"} */
  file?: string;
  /** The directory relative paths are resolved against. @default {the current directory} */
  dir?: string;
  /**
   * Plugins by name, from their manifests (`bulkhead run --plugins`): a
   * component may then be `{ <name>: { <its fields> } }`.
   * @default {none}
   */
  plugins?: ReadonlyMap<string, PluginManifest>;
}

/**
 * Parses and validates a pipeline configuration text.
 *
 * @param text YAML.
 * @param options The file name for messages and the base directory.
 * @returns The validated configuration.
 * @throws {PipelineConfigError} Listing every problem as `file:line: field: problem`.
 * @example
 * ```ts
 * import { parsePipelineConfig } from "./config.ts";
 * const config = parsePipelineConfig("input: { generate: { count: 3 } }\noutput: drop\n");
 * if (config.input.kind !== "generate" || config.input.count !== 3) throw new Error();
 * ```
 */
export function parsePipelineConfig(
  text: string,
  options: ParseConfigOptions = {},
): PipelineConfig {
  const file = options.file ?? "pipeline.yaml";
  const dir = options.dir ?? Deno.cwd();
  const r = new ConfigReader(file, text);
  const root = r.root;
  if (r.issues.length === 0 && !r.has(root)) r.fail(root, "the file is empty");
  r.map(root, ["input", "batching", "max_in_flight", "processors", "output", "dead_letter"]);

  const plugins = options.plugins ?? new Map<string, PluginManifest>();
  const named = (type: string) => [...plugins.values()].filter((m) => m.type === type);
  const input = readInput(r, r.child(root, "input"), dir, named("input"));
  const batching = readBatching(r, r.child(root, "batching"));
  const maxInFlight = r.integer(r.child(root, "max_in_flight"), 1) ?? 4;
  const processors: ProcessorConfig[] = [];
  for (const item of r.list(r.child(root, "processors")) ?? []) {
    const manifests = named("processor");
    const kind = r.oneOf(item, ["plugin", ...manifests.map((m) => m.name)]);
    if (!kind) continue;
    const manifest = manifests.find((m) => m.name === kind[0]);
    const plugin = manifest
      ? manifestPlugin(r, kind[1], manifest)
      : readPlugin(r, kind[1], dir, `processor${processors.length + 1}`);
    if (plugin) processors.push({ kind: "plugin", name: plugin.name, plugin });
  }
  const output = readOutput(r, r.child(root, "output"), dir, true, named("output"));
  const deadLetterField = r.child(root, "dead_letter");
  const deadLetter = r.has(deadLetterField)
    ? readOutput(r, deadLetterField, dir, false)
    : { kind: "stderr" as const };

  if (r.issues.length > 0) throw new PipelineConfigError(r.issues);
  return {
    file,
    input: input!,
    batching,
    maxInFlight,
    processors,
    output: output!,
    deadLetter: deadLetter!,
  };
}

function readInput(
  r: ConfigReader,
  field: Field,
  dir: string,
  manifests: PluginManifest[] = [],
): InputConfig | undefined {
  const choice = r.oneOf(field, [...INPUTS, ...manifests.map((m) => m.name)]);
  if (!choice) return undefined;
  const [kind, at] = choice;
  const manifest = manifests.find((m) => m.name === kind);
  if (manifest) return { kind: "plugin", plugin: manifestPlugin(r, at, manifest) };
  switch (kind) {
    case "stdin":
      r.map(at, []);
      return { kind };
    case "file": {
      r.map(at, ["path"]);
      const path = requirePath(r, r.child(at, "path"), dir, true);
      return path === undefined ? undefined : { kind, path };
    }
    case "generate": {
      r.map(at, ["count", "rate", "message", "messages"]);
      const messages = r.strings(r.child(at, "messages")) ??
        r.strings(r.child(at, "message")) ?? ["message ${! i }"];
      if (messages.length === 0) r.fail(r.child(at, "messages"), "must not be empty");
      const rate = r.number(r.child(at, "rate"));
      return {
        kind,
        count: r.integer(r.child(at, "count"), 0),
        rate: rate === 0 ? undefined : rate,
        messages,
      };
    }
    case "nats_jetstream": {
      const nats = readNatsInput(r, at);
      return nats && { kind, nats };
    }
    default: {
      const plugin = readPlugin(r, at, dir, "input");
      return plugin && { kind: "plugin", plugin };
    }
  }
}

function readOutput(
  r: ConfigReader,
  field: Field,
  dir: string,
  required: boolean,
  manifests: PluginManifest[] = [],
): OutputConfig | undefined {
  if (!required && !r.has(field)) return undefined;
  const choice = r.oneOf(field, [...OUTPUTS, ...manifests.map((m) => m.name)]);
  if (!choice) return undefined;
  const [kind, at] = choice;
  const manifest = manifests.find((m) => m.name === kind);
  if (manifest) return { kind: "plugin", plugin: manifestPlugin(r, at, manifest) };
  switch (kind) {
    case "stdout":
    case "stderr":
    case "drop":
      r.map(at, []);
      return { kind };
    case "file": {
      r.map(at, ["path", "mode"]);
      const path = requirePath(r, r.child(at, "path"), dir, false);
      const modeField = r.child(at, "mode");
      const mode = r.string(modeField) ?? "new";
      if (mode !== "new" && mode !== "append" && mode !== "truncate") {
        r.fail(modeField, `must be append or truncate, got ${mode}`);
        return undefined;
      }
      return path === undefined ? undefined : { kind, path, mode };
    }
    case "nats_jetstream": {
      const nats = readNatsOutput(r, at);
      return nats && { kind, nats };
    }
    default: {
      const plugin = readPlugin(r, at, dir, field.path);
      return plugin && { kind: "plugin", plugin };
    }
  }
}

function readBatching(r: ConfigReader, field: Field): BatchPolicy {
  r.map(field, ["count", "bytes", "period"]);
  const policy: BatchPolicy = { count: r.integer(r.child(field, "count"), 1) ?? 100 };
  const bytes = r.size(r.child(field, "bytes"));
  if (bytes !== undefined) policy.bytes = bytes;
  const period = r.duration(r.child(field, "period"));
  if (period !== undefined) policy.periodMs = period;
  return policy;
}

function requirePath(r: ConfigReader, field: Field, dir: string, mustExist: boolean) {
  const path = r.string(field);
  if (path === undefined) return r.has(field) ? undefined : r.fail(field, "missing");
  const full = isAbsolute(path) ? path : resolve(dir, path);
  if (mustExist && !isFile(full)) return r.fail(field, `not found: ${path}`);
  return full;
}

function readPlugin(
  r: ConfigReader,
  field: Field,
  dir: string,
  fallbackName: string,
): PluginComponentConfig | undefined {
  if (!r.has(field)) return r.fail(field, "missing (give module or command)");
  const keys = r.map(field, PLUGIN_FIELDS);
  if (keys === undefined) return undefined;
  const before = r.issues.length;
  const moduleField = r.child(field, "module");
  const commandField = r.child(field, "command");
  let module = r.string(moduleField);
  let command = r.string(commandField);
  if ((module === undefined) === (command === undefined)) {
    r.fail(
      field,
      module === undefined
        ? "missing: give module or command"
        : "give only one of module or command",
    );
  }
  if (module !== undefined && !/^[a-z][a-z0-9+.-]*:/i.test(module)) {
    const full = isAbsolute(module) ? module : resolve(dir, module);
    if (!isFile(full)) r.fail(moduleField, `not found: ${module}`);
    module = full;
  }
  if (command !== undefined) {
    const found = findCommand(command, dir);
    if (found === undefined) r.fail(commandField, `not found: ${command}`);
    command = found;
  }
  const moduleRoot = readModuleRoot(r, r.child(field, "module_root"), dir, command !== undefined);
  const handshake = readHandshake(r, field);
  const args = r.strings(r.child(field, "args")) ?? [];
  const name = r.string(r.child(field, "name")) ??
    componentName(module ?? command ?? "", args) ?? fallbackName;
  const sha256Field = r.child(field, "sha256");
  const sha256 = typeof r.plain(sha256Field) === "number"
    ? r.fail(sha256Field, "must be quoted (YAML reads these digits as a number)")
    : r.string(sha256Field);
  if (sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(sha256)) {
    r.fail(sha256Field, "must be 64 hex digits (bulkhead inspect prints it)");
  }
  const restart = readRestart(r, r.child(field, "restart"));
  const permissions = readPermissions(r, r.child(field, "permissions"));
  const limits = readLimits(r, r.child(field, "limits"));
  const sandboxField = r.child(field, "sandbox");
  const sandbox = r.boolean(sandboxField) ?? true;
  if (!sandbox && module !== undefined) {
    r.fail(sandboxField, "applies to commands: a Deno module always runs in Deno's sandbox");
  }
  // every field is read (and every problem in the block reported) before giving up
  const plugin: PluginComponentConfig = {
    name,
    ...(module === undefined ? {} : { module }),
    ...(command === undefined ? {} : { command }),
    ...(moduleRoot === undefined ? {} : { moduleRoot }),
    ...(sha256 === undefined ? {} : { sha256 }),
    args,
    cwd: dir,
    handshake,
    processes: r.integer(r.child(field, "processes"), 1) ?? 1,
    permissions,
    sandbox,
    env: r.stringMap(r.child(field, "env")) ?? {},
    limits,
    config: r.plain(r.child(field, "config")) ?? {},
    restart,
    timeoutMs: r.duration(r.child(field, "timeout")) ?? 30_000,
    startTimeoutMs: r.duration(r.child(field, "start_timeout")) ?? 10_000,
    maxMessageBytes: maxMessageBytes(r.size(r.child(field, "max_message_bytes"))),
    responseBudget: readResponseBudget(r, r.child(field, "response_budget")),
  };
  return r.issues.length > before ? undefined : plugin;
}

/**
 * The launch mode: `handshake: go-plugin | none`, or its older spelling
 * `launch: bulkhead | redpanda` (the same switch; not both).
 */
function readHandshake(r: ConfigReader, field: Field): HandshakeMode {
  const handshakeField = r.child(field, "handshake");
  const launchField = r.child(field, "launch");
  const handshake = r.string(handshakeField);
  const launch = r.string(launchField);
  if (handshake !== undefined && launch !== undefined) {
    r.fail(launchField, "give handshake or launch (its older name), not both");
  }
  if (launch !== undefined) {
    if (launch === "bulkhead" || launch === "redpanda") {
      return launch === "redpanda" ? "none" : "go-plugin";
    }
    r.fail(launchField, `must be bulkhead or redpanda, got ${launch}`);
  }
  if (handshake === undefined || handshake === "go-plugin" || handshake === "none") {
    return handshake ?? "go-plugin";
  }
  r.fail(handshakeField, `must be go-plugin or none, got ${handshake}`);
  return "go-plugin";
}

function readResponseBudget(r: ConfigReader, field: Field): ResponseBudget {
  r.map(field, ["messages_per_message", "messages", "bytes"]);
  const defaults = DEFAULT_RESPONSE_BUDGET;
  return {
    messagesPerMessage: r.integer(r.child(field, "messages_per_message"), 1) ??
      defaults.messagesPerMessage,
    messages: r.integer(r.child(field, "messages"), 1) ?? defaults.messages,
    bytes: r.size(r.child(field, "bytes")) ?? defaults.bytes,
  };
}

/** A component named by its manifest: launched as Redpanda Connect launches it. */
function manifestPlugin(
  r: ConfigReader,
  at: Field,
  manifest: PluginManifest,
): PluginComponentConfig {
  const [program, ...args] = manifest.command;
  const command = findCommand(program!, manifest.cwd);
  if (command === undefined) {
    r.fail(at, `plugin ${manifest.name}: command not found: ${program} (${manifest.file})`);
  }
  return {
    name: manifest.name,
    command: command ?? program!,
    args,
    cwd: manifest.cwd,
    handshake: "none",
    processes: 1,
    permissions: {},
    env: {},
    limits: {},
    config: readManifestConfig(r, at, manifest),
    restart: readRestart(r, r.child(at, "\0restart")),
    timeoutMs: 30_000,
    startTimeoutMs: 10_000,
    sandbox: true, // in bubblewrap, with its manifest's folder (its cwd) readable
    maxMessageBytes: maxMessageBytes(undefined),
    responseBudget: DEFAULT_RESPONSE_BUDGET,
  };
}

function readModuleRoot(r: ConfigReader, field: Field, dir: string, isCommand: boolean) {
  if (!r.has(field)) return undefined;
  const path = r.string(field);
  if (path === undefined) return undefined;
  if (isCommand) return r.fail(field, "applies to a Deno module only (give module, not command)");
  const full = isAbsolute(path) ? path : resolve(dir, path);
  if (!isDirectory(full)) return r.fail(field, `not a directory: ${path}`);
  return full;
}

function readRestart(r: ConfigReader, field: Field): RestartPolicy {
  r.map(field, ["initial_delay", "max_delay", "max_crashes", "window"]);
  const defaults = PIPELINE_RESTART_DEFAULTS; // which says why they differ from a library's
  return {
    initialDelayMs: r.duration(r.child(field, "initial_delay")) ?? defaults.initialDelayMs,
    maxDelayMs: r.duration(r.child(field, "max_delay")) ?? defaults.maxDelayMs,
    maxCrashes: r.integer(r.child(field, "max_crashes"), 1) ?? defaults.maxCrashes,
    windowMs: r.duration(r.child(field, "window")) ?? defaults.windowMs,
  };
}

/** A grant's field by its YAML key. */
const PERMISSION_KEYS = new Map(PERMISSIONS.map((p) => [p.yaml, p.key]));

function readPermissions(r: ConfigReader, field: Field): Permissions {
  const out: Record<string, readonly string[] | boolean> = {};
  for (const key of r.map(field, [...PERMISSION_KEYS.keys()]) ?? []) {
    const at = r.child(field, key);
    const value = r.has(at) && typeof r.plain(at) === "boolean" ? r.boolean(at) : r.strings(at);
    if (value !== undefined) out[PERMISSION_KEYS.get(key)!] = value;
  }
  return out as Permissions;
}

function readLimits(r: ConfigReader, field: Field): ResourceLimits {
  const limits: ResourceLimits = {};
  const names = {
    heap_mb: "heapMb",
    data_mb: "dataMb",
    cpu_seconds: "cpuSeconds",
    open_files: "openFiles",
  } as const;
  for (const key of r.map(field, Object.keys(names)) ?? []) {
    const value = r.integer(r.child(field, key), 1);
    if (value !== undefined) limits[names[key as keyof typeof names]] = value;
  }
  return limits;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

function findCommand(command: string, dir: string): string | undefined {
  if (command.includes("/")) {
    const full = isAbsolute(command) ? command : resolve(dir, command);
    return isFile(full) ? full : undefined;
  }
  let path = "";
  try {
    path = Deno.env.get("PATH") ?? "";
  } catch {
    // no env permission: search nothing
  }
  for (const entry of path.split(":")) {
    if (entry && isFile(`${entry}/${command}`)) return `${entry}/${command}`;
  }
  return undefined;
}
