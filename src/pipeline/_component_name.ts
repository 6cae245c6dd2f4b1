/**
 * The name a plugin component goes by when its configuration gives none:
 * its module or executable, or — when the executable is an interpreter
 * (`/usr/bin/python3 ./plugin.py`) — the script it runs. Internal to
 * `src/pipeline/`.
 *
 * @module
 */

/** Interpreters, with an optional version suffix (`python3`, `python3.11`, `node22`). */
const INTERPRETER =
  /^(python|pypy|node|nodejs|deno|bun|ruby|perl|php|lua|luajit|bash|sh|dash|zsh|Rscript|tclsh)[0-9.]*$/;

/** Subcommands that come before the script (`deno run script.ts`). */
const SUBCOMMANDS = new Set(["run"]);

/** Interpreter flags whose next argument names what runs (`python3 -m package.plugin`). */
const MODULE_FLAGS = new Set(["-m"]);

/**
 * Names a component after what it runs.
 *
 * @param target The module path or URL, or the executable's path.
 * @param args The executable's arguments.
 * @returns The name, or undefined when nothing fits.
 */
export function componentName(target: string, args: readonly string[]): string | undefined {
  const executable = fileName(target);
  if (!INTERPRETER.test(executable)) return baseName(target);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (MODULE_FLAGS.has(arg)) return args[i + 1] ?? baseName(target);
    if (arg.startsWith("-")) continue;
    if (i === 0 && SUBCOMMANDS.has(arg)) continue;
    return baseName(arg) ?? baseName(target);
  }
  return baseName(target);
}

function fileName(path: string): string {
  return path.replace(/\/+$/, "").split("/").pop() ?? "";
}

/** `./kv/plugin.ts` → `kv`, `/usr/bin/uppercase` → `uppercase`. */
function baseName(target: string): string | undefined {
  const parts = target.replace(/\/+$/, "").split("/");
  const file = (parts.pop() ?? "").replace(/\.(ts|js|mjs|mts|py|rb|pl|sh)$/, "");
  const generic = ["plugin", "main", "mod", "index", "__main__"].includes(file);
  return (generic ? parts.pop() : file) || undefined;
}
