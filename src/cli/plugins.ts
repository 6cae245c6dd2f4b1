/**
 * `bulkhead plugins list --plugins GLOB`: the plugin manifests found, as a
 * table or JSON; `bulkhead plugins manifest -- plugin.ts`: the manifest a
 * Deno plugin declares in code, as YAML for a `plugin.yaml`. Thin: parses its options, calls `src/pipeline/manifest.ts`, prints.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { discoverManifests } from "../pipeline/manifest.ts";
import { PipelineConfigError } from "../pipeline/config_error.ts";
import { readModuleManifest } from "../pipeline/module_manifest.ts";
import { UsageError } from "./args.ts";

/**
 * Runs `bulkhead plugins` with the arguments after `plugins`.
 *
 * @param argv The arguments.
 * @param io Where to print.
 * @returns The exit code: 0, or 2 for an invalid manifest.
 * @throws {UsageError} When the command line is wrong.
 */
export async function pluginsCommand(
  argv: readonly string[],
  io: { out(text: string): void; err(text: string): void },
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { plugins: { type: "string", multiple: true }, json: { type: "boolean" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\.$/, ""), "plugins");
  }
  const [action, ...extra] = parsed.positionals;
  if (action === "manifest") {
    const module = parsed.positionals.slice(1).filter((a) => a !== "--");
    if (module.length !== 1) {
      throw new UsageError(
        "Give one plugin module: bulkhead plugins manifest -- plugin.ts",
        "plugins",
      );
    }
    try {
      const { manifest, yaml } = await readModuleManifest(module[0]!);
      io.out(parsed.values.json === true ? `${JSON.stringify(manifest, null, 2)}\n` : yaml);
      return 0;
    } catch (error) {
      io.err(`bulkhead: ${error instanceof Error ? error.message : String(error)}\n`);
      return 1;
    }
  }
  if (action !== "list") {
    throw new UsageError(
      action === undefined ? "No action given: bulkhead plugins list" : `Unknown action ${action}`,
      "plugins",
    );
  }
  if (extra.length > 0) throw new UsageError(`Unexpected argument ${extra[0]}`, "plugins");
  const patterns = parsed.values.plugins ?? [];
  if (patterns.length === 0) throw new UsageError("Give --plugins GLOB", "plugins");
  let manifests;
  try {
    manifests = [...(await discoverManifests(patterns)).values()];
  } catch (error) {
    if (!(error instanceof PipelineConfigError)) throw error;
    io.err(`bulkhead: ${error.message}\n`);
    return 2;
  }
  manifests.sort((a, b) => a.name.localeCompare(b.name));
  if (parsed.values.json === true) {
    io.out(`${JSON.stringify(manifests, null, 2)}\n`);
    return 0;
  }
  const lines: string[] = [];
  for (const m of manifests) {
    lines.push(`${m.name} (${m.type})${m.summary ? `: ${m.summary}` : ""}`);
    lines.push(`  command  ${m.command.join(" ")}   (in ${m.cwd})`);
    lines.push(`  manifest ${m.file}`);
    for (const f of m.fields) {
      const type = f.kind === "scalar" ? f.type : `${f.kind} of ${f.type}`;
      const dflt = Object.hasOwn(f, "default")
        ? `default ${JSON.stringify(f.default)}`
        : "required";
      lines.push(
        `  ${f.name}: ${type}, ${dflt}${f.advanced ? ", advanced" : ""}${
          f.description ? ` — ${f.description}` : ""
        }`,
      );
    }
  }
  io.out(lines.length === 0 ? "no plugins found\n" : `${lines.join("\n")}\n`);
  return 0;
}
