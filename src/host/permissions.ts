/**
 * What a Deno plugin may touch, and the `deno run` flags that say so.
 *
 * A plugin gets nothing by default: no file, no network, no environment
 * variable, no subprocess, no FFI. It always gets its own socket (read and
 * write on the path and `--allow-net=unix:<path>`), and never prompts.
 * `unsafeRun` and `unsafeFfi` let a plugin leave the sandbox entirely (a
 * subprocess or native library is not bound by Deno's permissions), which
 * is why their names say so.
 *
 * @module
 */

/** Permissions granted to a Deno plugin. Every field defaults to none. */
export interface Permissions {
  /** Paths the plugin may read; `true` for all. */
  read?: readonly string[] | boolean;
  /** Paths the plugin may write; `true` for all. */
  write?: readonly string[] | boolean;
  /** Hosts (`host[:port]`) the plugin may connect to or listen on; `true` for all. */
  net?: readonly string[] | boolean;
  /** Environment variables the plugin may read; `true` for all. */
  env?: readonly string[] | boolean;
  /** System information APIs the plugin may call (`hostname`, `osRelease`, …); `true` for all. */
  sys?: readonly string[] | boolean;
  /** Programs the plugin may run. A subprocess is NOT sandboxed: this escapes the sandbox. */
  unsafeRun?: readonly string[] | boolean;
  /** Native libraries the plugin may load. Native code is NOT sandboxed: this escapes the sandbox. */
  unsafeFfi?: readonly string[] | boolean;
}

/** One permission, under each of its names. */
export interface PermissionName {
  /** Its field in {@linkcode Permissions}. */
  readonly key: keyof Permissions;
  /** Its key in a pipeline's YAML (`permissions: { unsafe_run: … }`). */
  readonly yaml: string;
  /** Its `bulkhead` command-line flag, without `--`. */
  readonly cli: string;
  /** Its `deno run` flag, without `--allow-`. */
  readonly deno: string;
  /** When granted, how it takes a Deno plugin out of the sandbox (for `inspect` and `--check`). */
  readonly escape?: string;
}

/**
 * Every permission a plugin can be granted: the one table the CLI flags,
 * the YAML keys, `--check`/`inspect` and the `deno run` flags are read
 * from.
 *
 * @example
 * ```ts
 * import { PERMISSIONS } from "./permissions.ts";
 * console.log(PERMISSIONS.map((p) => p.cli)); // ["allow-read", …, "unsafe-allow-ffi"]
 * ```
 */
export const PERMISSIONS: readonly PermissionName[] = [
  { key: "read", yaml: "read", cli: "allow-read", deno: "read" },
  { key: "write", yaml: "write", cli: "allow-write", deno: "write" },
  { key: "net", yaml: "net", cli: "allow-net", deno: "net" },
  { key: "env", yaml: "env", cli: "allow-env", deno: "env" },
  { key: "sys", yaml: "sys", cli: "allow-sys", deno: "sys" },
  {
    key: "unsafeRun",
    yaml: "unsafe_run",
    cli: "unsafe-allow-run",
    deno: "run",
    escape: "may run programs, which are not sandboxed (--allow-run)",
  },
  {
    key: "unsafeFfi",
    yaml: "unsafe_ffi",
    cli: "unsafe-allow-ffi",
    deno: "ffi",
    escape: "may load native libraries, which are not sandboxed (--allow-ffi)",
  },
];

/**
 * Returns the `deno run` permission flags for a plugin.
 *
 * @param permissions What the plugin's grant names.
 * @param socketPath The plugin's own socket, always granted.
 * @param envNames Environment variables the host sets for the plugin (the
 *   cookie, the protocol's variables, what the caller passed), always readable.
 * @returns Flags, starting with `--no-prompt`; never `-A`.
 * @throws {TypeError} When a list entry contains a comma or is empty.
 * @example
 * ```ts
 * import { permissionFlags } from "./permissions.ts";
 * const flags = permissionFlags({ read: ["/data"] }, "/tmp/d/plugin.sock");
 * if (!flags.includes("--allow-read=/tmp/d/plugin.sock,/data")) throw new Error(flags.join(" "));
 * ```
 */
export function permissionFlags(
  permissions: Permissions,
  socketPath: string,
  envNames: readonly string[] = [],
): string[] {
  const flags = ["--no-prompt"];
  const add = (name: string, value: readonly string[] | boolean | undefined, always: string[]) => {
    if (value === true) {
      flags.push(`--allow-${name}`);
      return;
    }
    const list = [...always, ...(value || [])];
    for (const item of list) {
      if (item === "" || item.includes(",")) {
        throw new TypeError(`Cannot grant --allow-${name}: invalid entry ${JSON.stringify(item)}`);
      }
    }
    if (list.length > 0) flags.push(`--allow-${name}=${list.join(",")}`);
  };
  // what every plugin gets: its own socket, and the variables the host sets
  const always: Partial<Record<keyof Permissions, string[]>> = {
    read: [socketPath],
    write: [socketPath],
    net: [`unix:${socketPath}`],
    env: [...envNames],
  };
  for (const { key, deno } of PERMISSIONS) add(deno, permissions[key], always[key] ?? []);
  return flags;
}

/**
 * Lists the grants that take a plugin outside Deno's sandbox.
 *
 * @param permissions A grant.
 * @returns Human warnings, empty when the plugin stays sandboxed.
 * @example
 * ```ts
 * import { sandboxEscapes } from "./permissions.ts";
 * if (sandboxEscapes({ unsafeRun: ["git"] }).length !== 1) throw new Error();
 * ```
 */
export function sandboxEscapes(permissions: Permissions): string[] {
  const warnings = PERMISSIONS.flatMap(({ key, escape }) =>
    escape !== undefined && permissions[key] ? [escape] : []
  );
  if (permissions.write === true) warnings.push("may write any file");
  if (permissions.net === true) warnings.push("may connect anywhere");
  return warnings;
}
