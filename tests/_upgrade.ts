/**
 * Helpers for the hot-upgrade pipeline tests (tests/pipeline/, tests/cli/):
 * the upper-casing processor versions as standalone plugin files (written
 * into a test's folder, so a reload picks up what is on disk), the output a
 * run must produce, and a temporary folder.
 *
 * @module
 */

/** The SDK, by absolute URL: a plugin file written elsewhere imports it so. */
const SDK = new URL("../plugin.ts", import.meta.url).href;

/** Messages a hot-upgrade pipeline test runs through its processor. */
export const COUNT = 100_000;

/** Template of message n (`${! i }`). */
export const TEMPLATE = "msg-${! i }-abc xyz";

/**
 * The source of an upper-casing processor version, importing the SDK by
 * absolute URL.
 *
 * @param version `v1` (toUpperCase) or `v2` (a byte map): same output bytes.
 */
export async function upperSource(version: "v1" | "v2"): Promise<string> {
  const text = await Deno.readTextFile(
    new URL(`./fixtures/upgrade/upper_${version}.ts`, import.meta.url),
  );
  const source = text.replace(`"../../../plugin.ts"`, JSON.stringify(SDK));
  if (source === text) throw new Error(`upper_${version}.ts no longer imports ../../../plugin.ts`);
  return source;
}

/** Writes a processor version to `path` (replacing the file whole, as an editor's save does). */
export async function writeUpper(path: string, version: "v1" | "v2"): Promise<void> {
  const temp = `${path}.tmp`;
  await Deno.writeTextFile(temp, await upperSource(version));
  await Deno.rename(temp, path);
}

/** What the output file of a run of `COUNT` messages holds, byte for byte. */
export function expectedOutput(): string {
  let text = "";
  for (let i = 1; i <= COUNT; i++) {
    text += `${TEMPLATE.replace("${! i }", String(i)).toUpperCase()}\n`;
  }
  return text;
}

/** A temporary folder, removed on dispose. */
export async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "bulkhead-upgrade-test-" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}
