/**
 * Helpers for pipeline tests: a temporary folder with a pipeline file, and
 * reading what came out.
 *
 * @module
 */
import { parsePipelineConfig, type PipelineConfig } from "../../mod.ts";

/** The examples folder, absolute. */
export const EXAMPLES = new URL("../../examples/", import.meta.url).pathname;

/** A temporary folder, removed on dispose. */
export async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "bulkhead-pipeline-test-" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}

/** Parses a pipeline configuration whose relative paths live in `dir`. */
export function config(yaml: string, dir: string): PipelineConfig {
  return parsePipelineConfig(yaml, { file: "test.yaml", dir });
}

/** The lines of a file (without the final empty one). */
export async function lines(path: string): Promise<string[]> {
  const text = await Deno.readTextFile(path);
  return text === "" ? [] : text.replace(/\n$/, "").split("\n");
}
