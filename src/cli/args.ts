/**
 * The `bulkhead` command line, parsed: which subcommand, which plugin, which
 * options. Throws {@linkcode UsageError} for anything it cannot take.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { Permissions, PluginOptions } from "../../mod.ts";
import { PERMISSIONS } from "../host/permissions.ts";
import { parseMethodName } from "../host/json_call.ts";

/** The subcommands that start a plugin. */
export type PluginCommand = "health" | "inspect" | "call";

/** The subcommands. */
export type Subcommand = PluginCommand | "run" | "gen" | "plugins" | "version";

/** A command line the user got wrong. */
export class UsageError extends Error {
  /** The subcommand whose help to point at, if any. */
  readonly command: Subcommand | undefined;
  /**
   * @param message What is wrong.
   * @param command The subcommand whose help to point at.
   */
  constructor(message: string, command?: Subcommand) {
    super(message);
    this.name = "UsageError";
    this.command = command;
  }
}

/** What to start and how, and how to talk to it. */
export interface PluginInvocation {
  /** Options for `Plugin.start` (no logger). */
  start: PluginOptions;
  /** `--allow-*` flags given (they do nothing for an executable). */
  permissionFlags: string[];
  /** `--json`. */
  json: boolean;
  /** `--quiet`. */
  quiet: boolean;
  /** `--rpc-timeout`, in milliseconds. */
  rpcTimeoutMs: number;
}

/** A parsed command line. */
export type CliCommand =
  | { kind: "help"; topic: Subcommand | undefined }
  | { kind: "version" }
  | { kind: "run"; argv: string[] }
  | { kind: "plugins"; argv: string[] }
  | { kind: "gen"; argv: string[] }
  | { kind: "health"; plugin: PluginInvocation; service: string }
  | { kind: "inspect"; plugin: PluginInvocation }
  | {
    kind: "call";
    plugin: PluginInvocation;
    method: string;
    request: string | undefined;
    call: CallOptions;
  };

/** The options only `bulkhead call` has. */
export interface CallOptions {
  /** `--protoset FILE`s. */
  protosets: string[];
  /** `--proto FILE`s. */
  protos: string[];
  /** `--import-path DIR`s. */
  importPaths: string[];
  /** `--max-time SECONDS`, in milliseconds: the call's whole deadline. */
  maxTimeMs: number | undefined;
  /** `-H 'name: value'` metadata, in order. */
  headers: [string, string][];
}

const CALL = {
  proto: { type: "string", multiple: true },
  "import-path": { type: "string", multiple: true },
  protoset: { type: "string", multiple: true },
  "max-time": { type: "string" },
  header: { type: "string", short: "H", multiple: true },
} as const;

const SUBCOMMANDS: readonly Subcommand[] = [
  "run",
  "gen",
  "plugins",
  "health",
  "inspect",
  "call",
  "version",
];

const COMMON = {
  cookie: { type: "string" },
  "protocol-versions": { type: "string" },
  "allow-tcp": { type: "boolean" },
  timeout: { type: "string" },
  "rpc-timeout": { type: "string" },
  "heap-mb": { type: "string" },
  "data-mb": { type: "string" },
  "cpu-seconds": { type: "string" },
  "open-files": { type: "string" },
  env: { type: "string", multiple: true },
  name: { type: "string" },
  "module-root": { type: "string" },
  sha256: { type: "string" },
  quiet: { type: "boolean", short: "q" },
  json: { type: "boolean" },
  exec: { type: "boolean" },
  "no-sandbox": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

const PERMISSION_FLAG = new RegExp(`^--(${PERMISSIONS.map((p) => p.cli).join("|")})(?:=(.*))?$`);

const PERMISSION_KEYS = new Map(PERMISSIONS.map((p) => [p.cli, p.key]));

/** `--allow-run` and the like, which must be spelled `--unsafe-allow-run`. */
const UNSAFE_FLAG = new Map(
  PERMISSIONS.filter((p) => p.cli.startsWith("unsafe-")).map((p) => [
    `--${p.cli.slice("unsafe-".length)}`,
    `--${p.cli}`,
  ]),
);

const MODULE_PATTERN = /\.(ts|mts|cts|tsx|js|mjs|cjs|jsx)$|^(file|https?):/i;

/**
 * Parses the `bulkhead` command line.
 *
 * @param argv The arguments after the program name.
 * @param env Reads the host's environment (for a bare `--env KEY`).
 * @returns The command to run.
 * @throws {UsageError} When the command line is wrong.
 * @example
 * ```ts
 * import { parseCli } from "./args.ts";
 * const command = parseCli(["health", "--", "examples/greeter/plugin.ts"]);
 * if (command.kind !== "health" || command.service !== "plugin") throw new Error();
 * ```
 */
export function parseCli(
  argv: readonly string[],
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): CliCommand {
  const [first, ...rest] = argv;
  if (first === undefined || first === "help" || first === "-h" || first === "--help") {
    const topic = first === "help" ? rest[0] : undefined;
    if (topic !== undefined && !SUBCOMMANDS.includes(topic as Subcommand)) {
      throw new UsageError(`Unknown command "${topic}"`);
    }
    return { kind: "help", topic: topic as Subcommand | undefined };
  }
  if (first === "--version" || first === "-V") return { kind: "version" };
  if (!SUBCOMMANDS.includes(first as Subcommand)) {
    throw new UsageError(
      first.startsWith("-") ? `Unknown option ${first}` : `Unknown command "${first}"`,
    );
  }
  const command = first as Subcommand;
  const split = rest.indexOf("--");
  const own = split < 0 ? rest : rest.slice(0, split);
  const pluginArgv = split < 0 ? [] : rest.slice(split + 1);
  if (own.includes("-h") || own.includes("--help")) return { kind: "help", topic: command };
  if (command === "run") return { kind: "run", argv: rest }; // parsed by src/cli/run.ts
  if (command === "gen") return { kind: "gen", argv: rest }; // parsed by src/cli/gen.ts
  if (command === "plugins") return { kind: "plugins", argv: rest }; // by src/cli/plugins.ts

  if (command === "version") {
    if (rest.length > 0) throw new UsageError(`Unexpected argument ${rest[0]}`, command);
    return { kind: "version" };
  }

  const permissions: Permissions = {};
  const permissionFlags: string[] = [];
  const remaining: string[] = [];
  for (const arg of own) {
    const match = PERMISSION_FLAG.exec(arg);
    if (!match) {
      remaining.push(arg);
      continue;
    }
    permissionFlags.push(arg);
    const key = PERMISSION_KEYS.get(match[1]!)!;
    const previous = permissions[key];
    if (match[2] === undefined) {
      permissions[key] = true;
    } else if (previous !== true) {
      const items = match[2].split(",").filter((item) => item !== "");
      permissions[key] = [...(previous || []), ...items];
    }
  }

  let parsed;
  try {
    parsed = parseArgs({
      args: remaining,
      options: command === "health"
        ? { ...COMMON, service: { type: "string" } }
        : command === "call"
        ? { ...COMMON, ...CALL }
        : COMMON,
      allowPositionals: command === "call",
      strict: true,
    });
  } catch (error) {
    throw new UsageError(explainParseError(error), command);
  }
  const values = parsed.values as Record<string, string | string[] | boolean | undefined>;

  const [target, ...args] = pluginArgv;
  if (target === undefined || target === "") {
    throw new UsageError(
      split < 0 ? "No plugin given: put the plugin's command after --" : "No plugin given after --",
      command,
    );
  }
  const isModule = values.exec !== true && MODULE_PATTERN.test(target);
  const start: PluginOptions = isModule ? { module: target } : { command: target };
  if (args.length > 0) start.args = args;
  if (typeof values.name === "string") start.name = values.name;
  if (typeof values["module-root"] === "string") {
    if (!isModule) throw new UsageError("--module-root applies to a Deno module only", command);
    start.moduleRoot = values["module-root"];
  }
  if (typeof values.sha256 === "string") start.sha256 = values.sha256;
  if (typeof values.cookie === "string") start.cookie = parseCookie(values.cookie, command);
  if (typeof values["protocol-versions"] === "string") {
    start.protocolVersions = parseVersions(values["protocol-versions"], command);
  }
  if (values["allow-tcp"] === true) start.allowTcp = true;
  if (typeof values.timeout === "string") {
    start.startTimeoutMs = parseMs("--timeout", values.timeout, command);
  }
  if (Array.isArray(values.env)) start.env = parseEnv(values.env, env, command);
  const limits: NonNullable<PluginOptions["limits"]> = {};
  for (
    const [flag, key] of [
      ["heap-mb", "heapMb"],
      ["data-mb", "dataMb"],
      ["cpu-seconds", "cpuSeconds"],
      ["open-files", "openFiles"],
    ] as const
  ) {
    const text = values[flag];
    if (typeof text === "string") limits[key] = parseCount(`--${flag}`, text, command);
  }
  if (Object.keys(limits).length > 0) start.limits = limits;
  if (values["no-sandbox"] === true) {
    if (isModule) {
      throw new UsageError(
        "--no-sandbox applies to executables: a Deno module always runs in Deno's sandbox",
        command,
      );
    }
    start.sandbox = false;
  }
  if (permissionFlags.length > 0) start.permissions = permissions;

  const plugin: PluginInvocation = {
    start,
    permissionFlags,
    json: values.json === true,
    quiet: values.quiet === true,
    rpcTimeoutMs: typeof values["rpc-timeout"] === "string"
      ? parseMs("--rpc-timeout", values["rpc-timeout"], command)
      : 10_000,
  };

  switch (command) {
    case "health":
      return {
        kind: "health",
        plugin,
        service: typeof values.service === "string" ? values.service : "plugin",
      };
    case "inspect":
      return { kind: "inspect", plugin };
    case "call": {
      const [method, request, ...extra] = parsed.positionals;
      if (method === undefined) {
        throw new UsageError("No method given: expected package.Service/Method", command);
      }
      if (extra.length > 0) throw new UsageError(`Unexpected argument ${extra[0]}`, command);
      try {
        parseMethodName(method);
      } catch (error) {
        throw new UsageError((error as Error).message, command);
      }
      return { kind: "call", plugin, method, request, call: parseCallOptions(values, command) };
    }
  }
}

function parseCallOptions(
  values: Record<string, string | string[] | boolean | undefined>,
  command: Subcommand,
): CallOptions {
  const list = (name: string) => Array.isArray(values[name]) ? values[name] as string[] : [];
  const maxTime = values["max-time"];
  let maxTimeMs: number | undefined;
  if (typeof maxTime === "string") {
    const seconds = Number(maxTime);
    if (!/^[0-9]*\.?[0-9]+$/.test(maxTime) || !(seconds > 0)) {
      throw new UsageError(
        `--max-time must be a positive number of seconds (e.g. 2 or 0.5), got "${maxTime}"`,
        command,
      );
    }
    maxTimeMs = Math.max(1, Math.round(seconds * 1000));
  }
  const headers: [string, string][] = [];
  for (const header of list("header")) {
    const colon = header.indexOf(":");
    const name = header.slice(0, colon).trim().toLowerCase();
    if (colon <= 0 || !/^[0-9a-z_.-]+$/.test(name)) {
      throw new UsageError(`-H must be 'name: value', got "${header}"`, command);
    }
    if (name.startsWith("grpc-") || name.startsWith(":")) {
      throw new UsageError(`-H ${name}: gRPC reserves grpc-* headers for itself`, command);
    }
    headers.push([name, header.slice(colon + 1).trim()]);
  }
  const protos = list("proto");
  const protosets = list("protoset");
  const importPaths = list("import-path");
  if (importPaths.length > 0 && protos.length === 0) {
    throw new UsageError("--import-path needs --proto: it is where the .proto files are", command);
  }
  return { protos, protosets, importPaths, maxTimeMs, headers };
}

function explainParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /Unknown option '([^']+)'/.exec(message);
  if (unknown) {
    const flag = unknown[1]!;
    const unsafe = UNSAFE_FLAG.get(flag.replace(/=.*$/, ""));
    if (unsafe !== undefined) {
      return `Unknown option ${flag}: use ${unsafe}, as it lets the plugin leave the sandbox`;
    }
    return `Unknown option ${flag}`;
  }
  const positional = /Unexpected argument '([^']+)'/.exec(message);
  if (positional) {
    return `Unexpected argument ${positional[1]} (the plugin's command goes after --)`;
  }
  return message.replace(/\.$/, "");
}

function parseCookie(text: string, command: Subcommand) {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new UsageError(`--cookie must be KEY=VALUE, got "${text}"`, command);
  return { key: text.slice(0, eq), value: text.slice(eq + 1) };
}

function parseVersions(text: string, command: Subcommand): number[] {
  const versions = text.split(",").map((part) => part.trim());
  if (versions.some((v) => !/^[1-9][0-9]*$/.test(v))) {
    throw new UsageError(
      `--protocol-versions must be positive integers separated by commas, got "${text}"`,
      command,
    );
  }
  return versions.map(Number);
}

function parseMs(flag: string, text: string, command: Subcommand): number {
  if (!/^[1-9][0-9]*$/.test(text)) {
    throw new UsageError(
      `${flag} must be a positive number of milliseconds, got "${text}"`,
      command,
    );
  }
  return Number(text);
}

function parseCount(flag: string, text: string, command: Subcommand): number {
  if (!/^[1-9][0-9]*$/.test(text)) {
    throw new UsageError(`${flag} must be a positive whole number, got "${text}"`, command);
  }
  return Number(text);
}

function parseEnv(
  items: readonly string[],
  env: (name: string) => string | undefined,
  command: Subcommand,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    if (eq === 0 || item === "") {
      throw new UsageError(`--env must be KEY=VALUE or KEY, got "${item}"`, command);
    }
    if (eq > 0) {
      out[item.slice(0, eq)] = item.slice(eq + 1);
      continue;
    }
    const value = env(item);
    if (value === undefined) {
      throw new UsageError(`--env ${item}: ${item} is not set in this environment`, command);
    }
    out[item] = value;
  }
  return out;
}
