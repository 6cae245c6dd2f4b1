/**
 * Checksums that pin what a plugin is (go-plugin's `SecureConfig`): the
 * host refuses to run a plugin whose hash differs from the one it was given.
 *
 * - An executable (`command`): the SHA-256 of its file, as go-plugin's
 *   `SecureConfig{Checksum, Hash: sha256.New()}` computes it. A script run
 *   by an interpreter (`python3 plugin.py`) pins the interpreter only, as in
 *   go-plugin.
 * - A Deno module: the SHA-256 of its whole module graph as `deno info
 *   --json` lists it, so a changed dependency changes the hash. Each local
 *   (`file:`) module or asset contributes its path relative to the entry
 *   module's folder and the SHA-256 of its content; every other module
 *   (`https:`, `jsr:` as `https:`, `npm:` with its resolved version)
 *   contributes its specifier (Deno's lock file pins remote contents). The
 *   entries are sorted, one per line, and hashed; moving the plugin's folder
 *   elsewhere keeps its hash.
 *
 * The file is hashed just before it is spawned; like go-plugin, a file
 * replaced between the two is not caught (keep plugins where only their
 * owner can write).
 *
 * @module
 */
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { denoInfoText } from "./_deno_info.ts";
import { resolutionFlags } from "./module_graph.ts";
import { PluginError } from "./errors.ts";

/** What is hashed: a module or an executable, where it runs, how Deno resolves it. */
export interface ChecksumTarget {
  /** A Deno module (path or URL, relative to `cwd`). */
  module?: string | URL;
  /** An executable (a path, or a name looked up in the host's PATH). */
  command?: string;
  /** The directory the plugin runs in. @default {the host's} */
  cwd?: string;
  /** Its extra `deno run` flags (those that change resolution apply). @default {[]} */
  denoFlags?: readonly string[];
}

/**
 * Thrown by `Plugin.start` when a plugin's hash is not the one it was given
 * (`sha256`): the plugin was not run.
 */
export class ChecksumMismatchError extends PluginError {
  /** The hash the host was given (lowercase hex). */
  readonly expected: string;
  /** The hash of what is there now (lowercase hex). */
  readonly actual: string;
  /** What was hashed: the executable's path or the module's specifier. */
  readonly target: string;
  /**
   * Makes the error.
   *
   * @param plugin The plugin's name.
   * @param target What was hashed.
   * @param expected The pinned hash.
   * @param actual The hash found.
   */
  constructor(plugin: string, target: string, expected: string, actual: string) {
    super(
      plugin,
      `Cannot start plugin "${plugin}": its SHA-256 is ${actual}, not the pinned ${expected} ` +
        `(${target}); it was not run. If the change is intended, pin the new hash ` +
        "(`bulkhead inspect` prints it)",
    );
    this.name = "ChecksumMismatchError";
    this.expected = expected;
    this.actual = actual;
    this.target = target;
  }
}

/**
 * Computes a plugin's SHA-256 as `PluginOptions.sha256` pins it.
 *
 * @param target The module or executable.
 * @param signal Aborts the listing of a module graph.
 * @returns The hash, lowercase hex, and what was hashed.
 * @throws {Error} When the executable cannot be read or the graph listed.
 * @example
 * ```ts
 * import { pluginChecksum } from "./checksum.ts";
 * const { sha256 } = await pluginChecksum({ command: "/bin/true" });
 * if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(sha256);
 * ```
 */
export async function pluginChecksum(
  target: ChecksumTarget,
  signal?: AbortSignal,
): Promise<{ sha256: string; target: string }> {
  signal?.throwIfAborted();
  if (target.command !== undefined) {
    const path = resolveCommand(target.command, target.cwd);
    return {
      sha256: await sha256Hex(await Deno.readFile(path, signal ? { signal } : {})),
      target: path,
    };
  }
  if (target.module === undefined) {
    throw new TypeError("Cannot hash a plugin: give `module` or `command`");
  }
  const specifier = moduleUrl(target.module, target.cwd);
  const remote = /^https?:/.test(specifier);
  const text = await denoInfoText(specifier, target.cwd, [
    ...(remote ? [] : ["--no-remote"]),
    ...resolutionFlags(target.denoFlags ?? []),
  ]);
  signal?.throwIfAborted();
  const lines = await graphLines(specifier, text);
  const digest = await sha256Hex(new TextEncoder().encode(lines.sort().join("\n") + "\n"));
  return { sha256: digest, target: specifier };
}

/**
 * Refuses a plugin whose hash is not `expected`.
 *
 * @param plugin The plugin's name.
 * @param expected The pinned SHA-256 (hex, any case).
 * @param target The module or executable.
 * @param signal Aborts the check.
 * @throws {ChecksumMismatchError} When the hashes differ.
 * @throws {RangeError} When `expected` is not 64 hex digits.
 * @example
 * ```ts ignore
 * await verifyChecksum("kv", "9f86d0…", { command: "./kv-plugin" });
 * ```
 */
export async function verifyChecksum(
  plugin: string,
  expected: string,
  target: ChecksumTarget,
  signal?: AbortSignal,
): Promise<void> {
  if (!/^[0-9a-fA-F]{64}$/.test(expected)) {
    throw new RangeError(
      `Cannot start plugin "${plugin}": sha256 must be 64 hex digits, got "${expected}"`,
    );
  }
  const found = await pluginChecksum(target, signal);
  if (found.sha256 !== expected.toLowerCase()) {
    throw new ChecksumMismatchError(plugin, found.target, expected.toLowerCase(), found.sha256);
  }
}

/**
 * What `Plugin.start` hashes for these options.
 *
 * @param options The plugin's options.
 * @param target The module's specifier or the command, as the host resolved it.
 * @returns The checksum target.
 */
export function checksumTarget(
  options: { module?: string | URL; cwd?: string; denoFlags?: readonly string[] },
  target: string,
): ChecksumTarget {
  const where = {
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.denoFlags === undefined ? {} : { denoFlags: options.denoFlags }),
  };
  return options.module !== undefined
    ? { module: target, ...where }
    : { command: target, ...where };
}

/** One line per module: `file <relative path> <sha256>` or `remote <specifier>`. */
async function graphLines(entry: string, text: string): Promise<string[]> {
  const info = JSON.parse(text) as { modules?: unknown };
  if (!Array.isArray(info.modules)) {
    throw new Error(`Cannot hash the module graph of ${entry}: deno info listed no modules`);
  }
  const base = entry.startsWith("file:") ? dirname(fileURLToPath(entry)) : undefined;
  const seen = new Set<string>();
  const lines: Promise<string>[] = [];
  for (const module of info.modules as Record<string, unknown>[]) {
    const specifier = module?.specifier;
    if (typeof specifier !== "string" || seen.has(specifier)) continue;
    seen.add(specifier);
    if (specifier.startsWith("file:")) {
      const path = typeof module.local === "string" ? module.local : fileURLToPath(specifier);
      const name = base === undefined ? specifier : relative(base, path);
      lines.push(
        Deno.readFile(path).then(async (bytes) => `file ${name} ${await sha256Hex(bytes)}`),
      );
    } else {
      lines.push(Promise.resolve(`remote ${specifier}`));
    }
  }
  return await Promise.all(lines);
}

function moduleUrl(module: string | URL, cwd: string | undefined): string {
  if (module instanceof URL) return module.href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(module)) return module;
  const path = isAbsolute(module) ? module : resolve(cwd ?? Deno.cwd(), module);
  return new URL(`file://${path}`).href;
}

/** The executable's path, as the host resolves it (a name: the host's PATH). */
function resolveCommand(command: string, cwd: string | undefined): string {
  if (command.includes("/")) {
    return isAbsolute(command) ? command : resolve(cwd ?? Deno.cwd(), command);
  }
  for (const entry of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!entry) continue;
    const path = `${entry}/${command}`;
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not here
    }
  }
  throw new Deno.errors.NotFound(`Cannot hash "${command}": not found in PATH`);
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
