/**
 * The manifest a Deno plugin declares in code (`serveProcessor(fn, {
 * manifest })`), asked for by running it with `BULKHEAD_PRINT_MANIFEST=1`
 * and no permission besides reading that variable, after the host has
 * checked its module graph (as for a start). What it prints is hostile
 * input: bounded, under a deadline, and checked as a manifest file would be.
 *
 * @module
 */
import { basename, dirname, resolve } from "node:path";
import { stringify } from "../npm/yaml.ts";
import { denoExecutable } from "../host/deno_command.ts";
import { checkModuleGraph } from "../host/module_root.ts";
import { PRINT_MANIFEST_ENV } from "../plugin/component_manifest.ts";
import { parseManifest, type PluginManifest } from "./manifest.ts";

const MAX_BYTES = 1024 * 1024;
const TIMEOUT_MS = 30_000;

/**
 * Asks a Deno plugin module for its manifest.
 *
 * @param module The module's path.
 * @returns The manifest (its `command` runs the module with `deno run` and
 *   the grants a Redpanda Connect host needs) and its YAML text.
 * @throws {Error} When the module declares none, fails, or prints something invalid.
 * @example
 * ```ts ignore
 * const { yaml } = await readModuleManifest("examples/uppercase/plugin.ts");
 * ```
 */
export async function readModuleManifest(
  module: string,
): Promise<{ manifest: PluginManifest; yaml: string }> {
  const path = resolve(module);
  const name = basename(path);
  await checkModuleGraph(name, new URL(`file://${path}`).href, {});
  const child = new Deno.Command(denoExecutable(), {
    args: ["run", "--no-prompt", `--allow-env=${PRINT_MANIFEST_ENV}`, path],
    cwd: dirname(path),
    env: { [PRINT_MANIFEST_ENV]: "1", NO_COLOR: "1" },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(TIMEOUT_MS),
  }).spawn();
  const [out, err, status] = await Promise.all([
    bounded(child.stdout),
    bounded(child.stderr),
    child.status,
  ]);
  const line = out.split("\n")[0] ?? "";
  let printed: unknown;
  try {
    printed = JSON.parse(line);
  } catch {
    throw new Error(
      `Cannot read the manifest of ${module}: it printed no manifest (exit ${status.code})` +
        (err.trim() ? `\n  ${err.trim().split("\n").slice(-5).join("\n  ")}` : ""),
    );
  }
  const declared = printed as Record<string, unknown>;
  if (typeof declared?.error === "string") {
    throw new Error(`Cannot read the manifest of ${module}: ${declared.error}`);
  }
  const document = {
    name: declared?.name,
    summary: declared?.summary ?? "",
    description: declared?.description ?? "",
    // a Redpanda Connect host picks the socket in a temporary directory:
    // Deno grants Unix sockets by exact path only, hence the wide grants
    command: [
      "deno",
      "run",
      `--allow-env=REDPANDA_CONNECT_PLUGIN_ADDRESS`,
      "--allow-read",
      "--allow-write",
      "--allow-net",
      basename(path),
    ],
    type: declared?.type,
    fields: declared?.fields ?? [],
  };
  const yaml = stringify(document);
  return { manifest: parseManifest(yaml, `${dirname(path)}/plugin.yaml`), yaml };
}

async function bounded(stream: ReadableStream<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > MAX_BYTES) break; // leaving the loop cancels the stream
    chunks.push(chunk);
  }
  return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
}
