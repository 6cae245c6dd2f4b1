/**
 * What a Deno plugin's module graph may load. Deno loads a module's static
 * graph (and dynamic imports whose specifier is a literal) without read
 * permission checks, so `import secret from "/etc/shadow" with { type:
 * "text" }` would read past the sandbox. Before a Deno plugin runs, the host
 * lists its graph (`module_graph.ts`) and refuses to start it when a local
 * module or imported asset lies outside:
 *
 * - its **module root**: the directory of its entry module, or the
 *   `moduleRoot` option (`module_root` in a pipeline);
 * - Bulkhead's own sources (`src/`, `plugin.ts`, `mod.ts` beside this host's
 *   copy): the SDK and its generated code;
 * - Deno's cache (remote and npm modules, loaded `--cached-only`);
 * - its `read` grants.
 *
 * Paths are compared twice: as imported, and with symlinks resolved, so a
 * link inside the root pointing outside is refused too. A dynamic import
 * whose specifier is computed at run time is not in the graph: Deno checks
 * `--allow-read` for it when it runs.
 *
 * @module
 */
import { dirname, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { findDenoDir } from "./deno_command.ts";
import { ModuleGraphError } from "./errors.ts";
import { listModuleGraph, realPath, resolutionFlags } from "./module_graph.ts";
import type { Permissions } from "./permissions.ts";

/** What {@linkcode checkModuleGraph} looks at: a subset of the plugin's start options. */
export interface ModuleRootOptions {
  /** A wider module root, resolved against `cwd`. @default {the entry module's directory} */
  moduleRoot?: string | undefined;
  /** The plugin's working directory. @default {the host's} */
  cwd?: string | undefined;
  /** Its grants: `read` paths may be imported too. */
  permissions?: Permissions | undefined;
  /** Its extra `deno run` flags (those that change resolution apply to the listing). */
  denoFlags?: readonly string[] | undefined;
  /** Aborts the check. */
  signal?: AbortSignal | undefined;
}

/**
 * The module root of a Deno plugin: `moduleRoot` resolved against `cwd`, or
 * the directory of a local entry module; none for a remote one.
 *
 * @param specifier The entry module's specifier (a `file:` or `https:` URL).
 * @param options `moduleRoot` and `cwd`.
 * @returns An absolute path, or undefined.
 * @example
 * ```ts
 * import { moduleRootOf } from "./module_root.ts";
 * if (moduleRootOf("file:///srv/a/plugin.ts", {}) !== "/srv/a") throw new Error();
 * if (moduleRootOf("file:///srv/a/plugin.ts", { moduleRoot: "..", cwd: "/srv/a" }) !== "/srv") {
 *   throw new Error();
 * }
 * ```
 */
export function moduleRootOf(
  specifier: string,
  options: Pick<ModuleRootOptions, "moduleRoot" | "cwd">,
): string | undefined {
  if (options.moduleRoot !== undefined) {
    return resolve(options.cwd ?? Deno.cwd(), options.moduleRoot);
  }
  return specifier.startsWith("file:") ? dirname(fileURLToPath(specifier)) : undefined;
}

/**
 * Checks that a Deno plugin's module graph loads no local file outside what
 * it may load (see the module doc). A `read: true` grant allows every file,
 * and skips the listing.
 *
 * @param plugin The plugin's name, for the error.
 * @param specifier The entry module's specifier.
 * @param options The plugin's module root, working directory, grants, Deno flags, signal.
 * @returns The module root (for `inspect`), or undefined for a remote module.
 * @throws {ModuleGraphError} Naming the first file outside, its importer and what would allow it.
 * @throws {Error} When the graph cannot be listed.
 * @example
 * ```ts ignore
 * await checkModuleGraph("greeter", "file:///srv/greeter/plugin.ts", { permissions: {} });
 * ```
 */
export async function checkModuleGraph(
  plugin: string,
  specifier: string,
  options: ModuleRootOptions,
): Promise<string | undefined> {
  const root = moduleRootOf(specifier, options);
  const read = readGrant(options.permissions?.read, options.denoFlags ?? []);
  if (read === true) return root;
  const cwd = options.cwd ?? Deno.cwd();
  const [files, denoDir] = await Promise.all([
    listModuleGraph(specifier, {
      cwd: options.cwd,
      flags: resolutionFlags(options.denoFlags ?? []),
      signal: options.signal,
    }),
    findDenoDir(),
  ]);
  const given = [
    ...(root === undefined ? [] : [root]),
    ...bulkheadSources(),
    denoDir,
    ...read.map((path) => resolve(cwd, path)),
  ];
  const real = await Promise.all(given.map(realPath));
  const outside: { path: string; real: string; importer: string }[] = [];
  for (const file of files) {
    if (file.specifier === specifier) continue; // the entry module: the plugin itself
    const fileReal = file.realPath;
    if (within(file.path, [...given, ...real]) && within(fileReal, real)) continue;
    const importer = file.importer?.startsWith("file:")
      ? fileURLToPath(file.importer)
      : file.importer ?? specifier;
    outside.push({ path: file.path, real: fileReal, importer });
  }
  const first = outside[0];
  if (first === undefined) return root;
  throw new ModuleGraphError(plugin, {
    file: first.path,
    realPath: first.real,
    importer: first.importer,
    moduleRoot: root,
    widerRoot: root === undefined ? dirname(first.real) : commonAncestor(root, first.real),
    files: outside.map((f) => f.path),
  });
}

/** The paths a plugin may read: its `read` grant and any `--allow-read` among its Deno flags. */
function readGrant(
  grant: Permissions["read"],
  denoFlags: readonly string[],
): readonly string[] | true {
  if (grant === true) return true;
  const paths = [...(grant || [])];
  for (const flag of denoFlags) {
    if (flag === "-A" || flag === "--allow-all" || flag === "--allow-read" || flag === "-R") {
      return true;
    }
    const listed = /^(?:--allow-read|-R)=(.*)$/.exec(flag)?.[1];
    if (listed !== undefined) paths.push(...listed.split(",").filter(Boolean));
  }
  return paths;
}

/** This host's own Bulkhead sources, which the SDK a plugin imports is part of. */
function bulkheadSources(): string[] {
  const src = new URL("../", import.meta.url);
  if (src.protocol !== "file:") return []; // a remote host: its SDK is in Deno's cache
  return [
    fileURLToPath(src),
    fileURLToPath(new URL("../plugin.ts", src)),
    fileURLToPath(new URL("../mod.ts", src)),
  ].map((path) => path.replace(/\/$/, ""));
}

function within(path: string, areas: readonly string[]): boolean {
  return areas.some((area) => {
    const rel = relative(area, path);
    return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !rel.startsWith(sep));
  });
}

function commonAncestor(a: string, b: string): string {
  let dir = a;
  while (!within(b, [dir]) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
