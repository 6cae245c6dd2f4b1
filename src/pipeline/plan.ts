/**
 * A validated pipeline described for people: what `bulkhead run --check`
 * prints, so an operator can review what each plugin will run as and may
 * touch before anything starts.
 *
 * @module
 */
import { isAbsolute, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { moduleRootOf } from "../host/module_root.ts";
import { PERMISSIONS, sandboxEscapes } from "../host/permissions.ts";
import { executableEscapes } from "../host/bwrap.ts";
import type { InputConfig, OutputConfig, PipelineConfig, PluginComponentConfig } from "./config.ts";

/**
 * Describes a validated pipeline, one component per line, with each plugin's
 * launch, pool size, grants and module root (Deno modules), or a warning
 * that an executable is not sandboxed.
 *
 * @param config A configuration from `loadPipelineConfig`.
 * @param cwd Paths are shown relative to this directory.
 * @returns Lines of text, each ending with a newline.
 * @example
 * ```ts ignore
 * io.out(describePipeline(await loadPipelineConfig("pipeline.yaml"), Deno.cwd()));
 * ```
 */
export function describePipeline(config: PipelineConfig, cwd: string): string {
  const show = (path: string) => {
    if (!path.startsWith("/")) return path; // a URL
    const inside = relative(cwd, path);
    return inside.startsWith("..") ? path : inside || ".";
  };
  const rows: [string, string][] = [["input", input(config.input, show)]];
  const batching = [`${config.batching.count} messages`];
  if (config.batching.bytes !== undefined) batching.push(`${config.batching.bytes} bytes`);
  if (config.batching.periodMs !== undefined) batching.push(ms(config.batching.periodMs));
  rows.push(["batching", `${batching.join(" or ")}, ${config.maxInFlight} in flight`]);
  for (const stage of config.processors) {
    rows.push([
      "processor",
      stage.kind === "plugin" ? plugin(stage.plugin, show, true) : `${stage.name} (in-process)`,
    ]);
  }
  rows.push(["output", output(config.output, show)]);
  rows.push(["dead letter", output(config.deadLetter, show)]);
  const lines = [`${config.file}: ok`, ...rows.map(([k, v]) => `  ${k.padEnd(12)}${v}`)];
  return `${lines.join("\n")}\n`;
}

function input(config: InputConfig, show: (path: string) => string): string {
  switch (config.kind) {
    case "stdin":
      return "stdin";
    case "file":
      return `file ${show(config.path)}`;
    case "generate":
      return `generate ${config.count ?? "unlimited"} messages` +
        (config.rate === undefined ? "" : ` at ${config.rate}/s`);
    case "plugin":
      return plugin(config.plugin, show, false);
    case "nats_jetstream":
      return `nats_jetstream stream ${config.nats.stream}, durable ${config.nats.durable} ` +
        `at ${config.nats.urls.join(", ")}`;
  }
}

function output(config: OutputConfig, show: (path: string) => string): string {
  switch (config.kind) {
    case "file":
      return `file ${show(config.path)}` +
        (config.mode === "new" ? " (refused if not empty)" : ` (${config.mode})`);
    case "plugin":
      return plugin(config.plugin, show, false);
    case "nats_jetstream":
      return `nats_jetstream subject ${config.nats.subject} at ${config.nats.urls.join(", ")}` +
        (config.nats.msgId === "auto" ? " (msg_id auto)" : "");
    default:
      return config.kind;
  }
}

function plugin(
  config: PluginComponentConfig,
  show: (path: string) => string,
  pooled: boolean,
): string {
  const target = config.module !== undefined
    ? `module ${show(config.module)}`
    : `command ${show(config.command!)}`;
  const parts = [`${config.name}: ${target}`];
  if (config.args.length > 0) parts.push(`args ${JSON.stringify(config.args)}`);
  parts.push(`handshake ${config.handshake}`);
  if (pooled) parts.push(`${config.processes} process${config.processes === 1 ? "" : "es"}`);
  if (config.sandbox) {
    const grants = PERMISSIONS.flatMap(({ key, yaml }) => {
      const v = config.permissions[key];
      return v === true ? [yaml] : Array.isArray(v) ? [`${yaml} ${v.join(",")}`] : [];
    });
    const by = config.module !== undefined ? "Deno" : "bubblewrap";
    parts.push(
      grants.length > 0
        ? `sandboxed by ${by}, may use ${grants.join("; ")}`
        : `sandboxed by ${by}: nothing granted`,
    );
    if (config.module !== undefined) {
      const module = config.module;
      const root = moduleRootOf(isAbsolute(module) ? pathToFileURL(module).href : module, {
        moduleRoot: config.moduleRoot,
      });
      if (root !== undefined) parts.push(`module root ${show(root)}`);
    }
    const escapes = config.module !== undefined
      ? sandboxEscapes(config.permissions)
      : executableEscapes(config.permissions);
    for (const escape of escapes) parts.push(`WARNING: ${escape}`);
  } else {
    parts.push("WARNING: not sandboxed (sandbox: false), runs with all of this user's rights");
  }
  const limits = Object.entries(config.limits).map(([k, v]) => `${yamlName(k)} ${v}`);
  if (limits.length > 0) parts.push(`limits ${limits.join(", ")}`);
  parts.push(`timeout ${ms(config.timeoutMs)}, start timeout ${ms(config.startTimeoutMs)}`);
  const r = config.restart;
  parts.push(
    `restart after ${ms(r.initialDelayMs ?? 50)}…${ms(r.maxDelayMs ?? 5000)}, ` +
      `give up after ${r.maxCrashes ?? "unlimited"} crashes in ${ms(r.windowMs ?? 60_000)}`,
  );
  return parts.join(", ");
}

/** A duration as the YAML would write it: `250ms`, `2s`, `1m`. */
function ms(value: number): string {
  if (value >= 60_000 && value % 60_000 === 0) return `${value / 60_000}m`;
  if (value >= 1000 && value % 1000 === 0) return `${value / 1000}s`;
  return `${value}ms`;
}

/** `unsafeFfi` → `unsafe_ffi`: the names the YAML uses. */
function yamlName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
