/**
 * Plugin manifests in Redpanda Connect's `--rpcplugin=./plugin.yaml`
 * format, and their discovery: a manifest names a plugin, says how to run
 * it and which configuration fields it takes, so a pipeline can use it by
 * name (`processors: [ { fizzbuzz: { … } } ]`) and have its configuration
 * checked before the plugin starts.
 *
 * ```yaml
 * name: titlecase
 * summary: Title-cases text
 * command: ["/usr/bin/python3", "processor.py"]   # argv, no shell
 * cwd: .                 # relative to this file; default: its folder
 * type: processor        # input | processor | output
 * fields:
 *   - name: mode
 *     description: title or reverse
 *     type: string       # string | int | float | bool | unknown (default)
 *     kind: scalar       # scalar (default) | list | map
 *     default: title     # no default: the field is required
 *     advanced: false
 * ```
 *
 * Unlike Redpanda Connect, which passes the plugin its whole environment,
 * Bulkhead passes none of it (as for every plugin).
 *
 * @module
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { ConfigReader, type Field } from "./_config_reader.ts";
import { PipelineConfigError } from "./config_error.ts";

/** What kind of component a manifest's plugin is. */
export type ManifestComponentType = "input" | "processor" | "output";

/** One configuration field a plugin takes. */
export interface ManifestField {
  /** Its name in the component's configuration. */
  name: string;
  /** What it means. */
  description: string;
  /** Its value type. @default {"unknown"} */
  type: "string" | "int" | "float" | "bool" | "unknown";
  /** A single value, a list of them, or a map of them. @default {"scalar"} */
  kind: "scalar" | "list" | "map";
  /** Its default; a field without one is required. */
  default?: unknown;
  /** Whether it is an advanced field (for documentation). */
  advanced: boolean;
}

/** A plugin manifest (Redpanda Connect's `plugin.yaml`). */
export interface PluginManifest {
  /** The name pipelines use for it. */
  name: string;
  /** One line about it. */
  summary: string;
  /** More about it. */
  description: string;
  /** Its argv (no shell). */
  command: string[];
  /** Its working directory, absolute. */
  cwd: string;
  /** What kind of component it is. */
  type: ManifestComponentType;
  /** Its configuration fields. */
  fields: ManifestField[];
  /** The manifest file. */
  file: string;
}

const TYPES = ["string", "int", "float", "bool", "unknown"] as const;
const KINDS = ["scalar", "list", "map"] as const;
const COMPONENTS = ["input", "processor", "output"] as const;

/**
 * Parses one manifest.
 *
 * @param text Its YAML.
 * @param file Its path (relative `cwd` is resolved against its folder).
 * @returns The manifest.
 * @throws {PipelineConfigError} Listing every problem as `file:line: field: problem`.
 * @example
 * ```ts
 * import { parseManifest } from "./manifest.ts";
 * const m = parseManifest("name: up\ncommand: [./up]\ntype: processor\n", "/srv/up/plugin.yaml");
 * if (m.cwd !== "/srv/up" || m.fields.length !== 0) throw new Error(m.cwd);
 * ```
 */
export function parseManifest(text: string, file: string): PluginManifest {
  const r = new ConfigReader(file, text);
  const root = r.root;
  r.map(root, ["name", "summary", "description", "command", "cwd", "type", "fields"]);
  const name = r.string(r.child(root, "name")) ?? r.fail(r.child(root, "name"), "missing");
  if (name !== undefined && !/^[a-z_][a-z0-9_]*$/.test(name)) {
    r.fail(r.child(root, "name"), "must be lowercase letters, digits and underscores");
  }
  const command = r.strings(r.child(root, "command"));
  if (command === undefined || command.length === 0) {
    r.fail(r.child(root, "command"), "missing: give the plugin's argv, e.g. [python3, main.py]");
  }
  const typeField = r.child(root, "type");
  const type = r.string(typeField);
  if (type === undefined) r.fail(typeField, "missing (input, processor or output)");
  else if (!(COMPONENTS as readonly string[]).includes(type)) {
    r.fail(typeField, `must be input, processor or output, got ${type}`);
  }
  const base = dirname(resolve(file));
  const cwdText = r.string(r.child(root, "cwd"));
  const cwd = cwdText === undefined ? base : isAbsolute(cwdText) ? cwdText : resolve(base, cwdText);
  const fields: ManifestField[] = [];
  const seen = new Set<string>();
  for (const item of r.list(r.child(root, "fields")) ?? []) {
    r.map(item, ["name", "description", "type", "kind", "default", "advanced"]);
    const fieldName = r.string(r.child(item, "name"));
    if (fieldName === undefined) {
      r.fail(r.child(item, "name"), "missing");
      continue;
    }
    if (seen.has(fieldName)) r.fail(r.child(item, "name"), `${fieldName} is given twice`);
    seen.add(fieldName);
    const fieldType = r.string(r.child(item, "type")) ?? "unknown";
    if (!(TYPES as readonly string[]).includes(fieldType)) {
      r.fail(r.child(item, "type"), `must be one of ${TYPES.join(", ")}, got ${fieldType}`);
    }
    const kind = r.string(r.child(item, "kind")) ?? "scalar";
    if (!(KINDS as readonly string[]).includes(kind)) {
      r.fail(r.child(item, "kind"), `must be one of ${KINDS.join(", ")}, got ${kind}`);
    }
    const defaultField = r.child(item, "default");
    fields.push({
      name: fieldName,
      description: r.string(r.child(item, "description")) ?? "",
      type: fieldType as ManifestField["type"],
      kind: kind as ManifestField["kind"],
      ...(r.has(defaultField) ? { default: r.plain(defaultField) } : {}),
      advanced: r.boolean(r.child(item, "advanced")) ?? false,
    });
  }
  if (r.issues.length > 0) throw new PipelineConfigError(r.issues);
  return {
    name: name!,
    summary: r.string(r.child(root, "summary")) ?? "",
    description: r.string(r.child(root, "description")) ?? "",
    command: command!,
    cwd,
    type: type as ManifestComponentType,
    fields,
    file,
  };
}

/**
 * Finds and reads manifests: each pattern is a path or a glob whose last
 * part may hold `*` and `?` (e.g. `plugins/*.yaml`).
 *
 * @param patterns Paths or globs, relative to the current directory.
 * @returns The manifests by name.
 * @throws {PipelineConfigError} When a manifest is invalid, a pattern finds nothing or two manifests share a name.
 * @example
 * ```ts ignore
 * const plugins = await discoverManifests(["plugins/*.yaml"]);
 * ```
 */
export async function discoverManifests(
  patterns: readonly string[],
): Promise<Map<string, PluginManifest>> {
  const found = new Map<string, PluginManifest>();
  const issues = [];
  for (const pattern of patterns) {
    const files = await expand(pattern);
    if (files.length === 0) {
      issues.push({ file: pattern, field: "", message: "no plugin manifest matches" });
    }
    for (const file of files) {
      try {
        const manifest = parseManifest(await Deno.readTextFile(file), file);
        const other = found.get(manifest.name);
        if (other !== undefined && other.file !== file) {
          issues.push({
            file,
            field: "name",
            message: `${manifest.name} is also the name of ${other.file}`,
          });
        }
        found.set(manifest.name, manifest);
      } catch (error) {
        if (error instanceof PipelineConfigError) issues.push(...error.issues);
        else issues.push({ file, field: "", message: `cannot read: ${(error as Error).message}` });
      }
    }
  }
  if (issues.length > 0) throw new PipelineConfigError(issues);
  return found;
}

async function expand(pattern: string): Promise<string[]> {
  const dir = dirname(pattern);
  const last = pattern.slice(dir === "." && !pattern.startsWith("./") ? 0 : dir.length + 1);
  if (!/[*?]/.test(last)) return [pattern];
  const regex = new RegExp(
    `^${last.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")}$`,
  );
  const out: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && regex.test(entry.name)) out.push(`${dir}/${entry.name}`);
    }
  } catch {
    return [];
  }
  return out.sort();
}

/**
 * Checks a component's configuration against its manifest's fields and
 * fills in defaults; unknown keys, missing required fields and values of
 * the wrong type or kind are issues at their line.
 *
 * @param r The pipeline's reader.
 * @param at The component's configuration (e.g. `processors[0].fizzbuzz`).
 * @param manifest Its manifest.
 * @returns The configuration to send in `Init`.
 */
export function readManifestConfig(
  r: ConfigReader,
  at: Field,
  manifest: PluginManifest,
): unknown {
  if (manifest.fields.length === 0) return r.plain(at) ?? {};
  r.map(at, manifest.fields.map((f) => f.name));
  const out: [string, unknown][] = [];
  for (const field of manifest.fields) {
    const child = r.child(at, field.name);
    if (!r.has(child)) {
      if (Object.hasOwn(field, "default")) out.push([field.name, field.default]);
      else r.fail(child, `missing (required by plugin ${manifest.name}: ${field.description})`);
      continue;
    }
    const value = r.plain(child);
    const problem = checkValue(value, field);
    if (problem !== undefined) r.fail(child, problem);
    else out.push([field.name, value]);
  }
  return Object.fromEntries(out);
}

function checkValue(value: unknown, field: ManifestField): string | undefined {
  const what = `${field.kind === "scalar" ? "" : `${field.kind} of `}${field.type}`;
  if (field.kind === "list") {
    if (!Array.isArray(value)) return `must be a list of ${field.type}`;
    return value.every((v) => isType(v, field.type)) ? undefined : `must be a ${what}`;
  }
  if (field.kind === "map") {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return `must be a map of ${field.type}`;
    }
    return Object.values(value).every((v) => isType(v, field.type))
      ? undefined
      : `must be a ${what}`;
  }
  return isType(value, field.type) ? undefined : `must be ${article(field.type)} ${field.type}`;
}

function isType(value: unknown, type: ManifestField["type"]): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "int":
      return Number.isInteger(value);
    case "float":
      return typeof value === "number";
    case "bool":
      return typeof value === "boolean";
    case "unknown":
      return true;
  }
}

function article(type: string): string {
  return type === "int" ? "an" : "a";
}
