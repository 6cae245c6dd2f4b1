/**
 * A batch component's manifest declared in code, in Redpanda Connect's
 * `plugin.yaml` terms: `serveProcessor(fn, { manifest })`. The plugin
 * prints it, instead of serving, when its host asks with
 * `BULKHEAD_PRINT_MANIFEST=1` (`bulkhead plugins manifest -- plugin.ts`).
 *
 * @module
 */

/** One configuration field of a component (a manifest's `fields` entry). */
export interface ComponentField {
  /** Its name in the component's configuration. */
  name: string;
  /** What it means. */
  description?: string;
  /** Its value type. @default {"unknown"} */
  type?: "string" | "int" | "float" | "bool" | "unknown";
  /** A single value, a list or a map of them. @default {"scalar"} */
  kind?: "scalar" | "list" | "map";
  /** Its default; a field without one is required. */
  default?: unknown;
  /** Whether it is an advanced field. @default {false} */
  advanced?: boolean;
}

/** What a component says about itself (its manifest without `command`, `cwd` and `type`). */
export interface ComponentManifest {
  /** The name pipelines use for it (lowercase letters, digits, underscores). */
  name: string;
  /** One line about it. */
  summary?: string;
  /** More about it. */
  description?: string;
  /** Its configuration fields. @default {[]} */
  fields?: readonly ComponentField[];
}

/** The variable that asks a plugin to print its manifest and exit. */
export const PRINT_MANIFEST_ENV = "BULKHEAD_PRINT_MANIFEST";

/**
 * Prints the manifest as one JSON line on stdout and exits with code 0
 * when the host asks for it; otherwise returns.
 *
 * @param type The component's type.
 * @param manifest Its manifest, when it declares one.
 */
export function printManifestIfAsked(
  type: "input" | "processor" | "output",
  manifest: ComponentManifest | undefined,
): void {
  let asked: string | undefined;
  try {
    asked = Deno.env.get(PRINT_MANIFEST_ENV);
  } catch {
    return; // not granted: the host did not ask
  }
  if (asked !== "1") return;
  const text = manifest === undefined
    ? JSON.stringify({ error: "this plugin declares no manifest" })
    : JSON.stringify({ ...manifest, type, fields: manifest.fields ?? [] });
  const bytes = new TextEncoder().encode(`${text}\n`);
  for (let written = 0; written < bytes.length;) {
    written += Deno.stdout.writeSync(bytes.subarray(written));
  }
  Deno.exit(manifest === undefined ? 1 : 0);
}
