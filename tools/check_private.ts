/**
 * The `_` file rule (STYLE.md 18): a file whose name starts with `_` is
 * private to its folder — imported only by files in that folder or below
 * it (Go's `internal/`), or by the tests that mirror that folder
 * (`tests/host/…` for `src/host/_x.ts`). The test suite is one folder for
 * its own helpers: a `_` file under `tests/` serves every test (tests
 * mirror `src/`, so a helper's place follows the code it tests, not its
 * users), but nothing outside `tests/`. Run by `deno task check`; exits 1
 * listing every import that breaks the rule.
 *
 * ```sh
 * deno run --allow-read tools/check_private.ts
 * ```
 *
 * @module
 */
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");
const SKIP = new Set([".git", "node_modules", ".tools", "dist", "gen", "vendor"]);
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*|\bexport\s*\*\s*from\s*)["'](\.{1,2}\/[^"']+)["']/g;

/**
 * Lists the imports in `root` that break the `_` file rule.
 *
 * @param root The repository.
 * @returns One line per broken import: `importer: specifier`.
 */
export async function privateImportViolations(root: string): Promise<string[]> {
  const violations: string[] = [];
  for await (const file of sources(root)) {
    const text = await Deno.readTextFile(file);
    for (const match of text.matchAll(IMPORT)) {
      const target = resolve(dirname(file), match[1]!);
      if (!/^_/.test(target.split("/").pop()!)) continue;
      if (!mayImport(root, file, target)) {
        violations.push(`${relative(root, file)}: imports ${relative(root, target)}`);
      }
    }
  }
  return violations.sort();
}

/** Whether `importer` may import the private file `target`. */
function mayImport(root: string, importer: string, target: string): boolean {
  const home = dirname(target);
  const from = dirname(importer);
  if (within(from, home)) return true;
  const tests = join(root, "tests");
  if (within(home, tests) && within(from, tests)) return true;
  // tests/<folder> mirrors src/<folder>
  const src = relative(join(root, "src"), home);
  if (src.startsWith("..")) return false;
  return within(from, join(root, "tests", src));
}

function within(dir: string, home: string): boolean {
  const rel = relative(home, dir);
  return rel === "" || (!rel.startsWith("..") && !rel.startsWith("/"));
}

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    if (SKIP.has(entry.name) || entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sources(path);
    else if (/\.(ts|tsx|js|mjs)$/.test(entry.name)) yield path;
  }
}

if (import.meta.main) {
  const violations = await privateImportViolations(ROOT);
  if (violations.length > 0) {
    console.error(
      `Private files imported from outside their folder (a _file is its folder's own):\n  ${
        violations.join("\n  ")
      }`,
    );
    Deno.exit(1);
  }
}
