/**
 * The bubblewrap (`bwrap`) command line that sandboxes an executable plugin
 * (Go, Python, anything) under the same {@linkcode Permissions} as a Deno
 * plugin.
 *
 * What the plugin gets:
 *
 * - its own user, PID, IPC, UTS (hostname `bulkhead-sandbox`) and cgroup
 *   namespaces, and its own network namespace with nothing but a loopback
 *   interface — unless `net` is granted, which shares the host's network:
 *   all or nothing, a list of hosts counts as all (bubblewrap cannot filter
 *   by host);
 * - an empty root (a tmpfs) in which only these are mounted: read-only the
 *   system's programs and libraries ({@linkcode SYSTEM_DIRS}, mirrored as
 *   they are on the host: a directory bound, a symlink made again), the few
 *   files of `/etc` a dynamic executable needs ({@linkcode SYSTEM_ETC}; the
 *   resolver's files in {@linkcode NETWORK_ETC} only with `net`), a minimal
 *   `/dev`, its own `/proc`, a private empty `/tmp`; read-only the paths in
 *   `visible` (the executable's own directory, a script's directory) and the
 *   `read` grants; read-write the `write` grants and its socket directory;
 * - its working directory (an empty directory when nothing bound shows it),
 *   so relative paths mean what they mean to the host;
 * - a new session (`setsid`: no terminal to inject input into) and no
 *   capabilities;
 * - `--die-with-parent`, and bubblewrap as the init of its PID namespace: when
 *   bubblewrap's parent dies, or bubblewrap is killed, the kernel kills every
 *   process in the namespace, whatever it did (`setsid`, double fork).
 *
 * A granted path that does not exist when the plugin starts is skipped
 * (bubblewrap binds only what exists). `sys`, `unsafeRun` and `unsafeFfi`
 * mean nothing here: whatever an executable runs or loads stays in its
 * sandbox. The environment is the launch's own (cleared by the host).
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import type { Permissions } from "./permissions.ts";

/** The system directories every sandboxed executable sees read-only, when the host has them. */
export const SYSTEM_DIRS: readonly string[] = [
  "/usr",
  "/bin",
  "/sbin",
  "/lib",
  "/lib32",
  "/lib64",
  "/libx32",
];

/** The files of `/etc` every sandboxed executable sees read-only: the dynamic loader's, time zone, alternatives. */
export const SYSTEM_ETC: readonly string[] = [
  "/etc/ld.so.cache",
  "/etc/ld.so.conf",
  "/etc/ld.so.conf.d",
  "/etc/alternatives",
  "/etc/localtime",
];

/** The files of `/etc` a sandboxed executable with `net` also sees: the resolver's and TLS roots. */
export const NETWORK_ETC: readonly string[] = [
  "/etc/resolv.conf",
  "/etc/hosts",
  "/etc/host.conf",
  "/etc/nsswitch.conf",
  "/etc/gai.conf",
  "/etc/services",
  "/etc/protocols",
  "/etc/ssl",
  "/etc/ca-certificates",
];

/** The hostname a sandboxed executable sees. */
export const SANDBOX_HOSTNAME = "bulkhead-sandbox";

/** How a system directory appears on the host: a directory to bind, or a symlink to make again. */
export type SystemEntry =
  | { path: string; kind: "dir" }
  | { path: string; kind: "symlink"; target: string };

/** What {@linkcode bwrapArgs} needs. */
export interface SandboxSpec {
  /** The executable, an absolute path. */
  command: string;
  /** Its arguments. */
  args: readonly string[];
  /** The plugin's socket directory, bound read-write. */
  socketDir: string;
  /** The working directory (absolute); relative grants resolve against it. */
  cwd: string;
  /** What the plugin may touch. */
  permissions: Permissions;
  /** More absolute paths to show read-only (the executable's directory, a script's). */
  visible: readonly string[];
  /** The host's system directories, as {@linkcode systemLayout} found them. */
  system: readonly SystemEntry[];
}

/**
 * Builds bubblewrap's arguments for one executable plugin: namespaces,
 * mounts, working directory, then `--` and the command line.
 *
 * @param spec What to run and what it may touch.
 * @returns The arguments (without `bwrap` itself).
 * @throws {TypeError} When a grant is an empty string.
 * @example
 * ```ts
 * import { bwrapArgs } from "./bwrap.ts";
 * const args = bwrapArgs({
 *   command: "/opt/kv/kv-go",
 *   args: ["-v"],
 *   socketDir: "/tmp/bulkhead-x",
 *   cwd: "/srv",
 *   permissions: { read: ["data"] },
 *   visible: ["/opt/kv"],
 *   system: [{ path: "/usr", kind: "dir" }, { path: "/bin", kind: "symlink", target: "usr/bin" }],
 * });
 * const text = args.join(" ");
 * if (!text.includes("--unshare-net") || !text.includes("--ro-bind-try /srv/data /srv/data")) {
 *   throw new Error(text);
 * }
 * if (!text.endsWith("--bind /tmp/bulkhead-x /tmp/bulkhead-x --dir /srv --chdir /srv -- /opt/kv/kv-go -v")) {
 *   throw new Error(text);
 * }
 * ```
 */
export function bwrapArgs(spec: SandboxSpec): string[] {
  const { permissions } = spec;
  const net = Boolean(permissions.net) &&
    !(Array.isArray(permissions.net) && permissions.net.length === 0);
  const args = [
    "--unshare-user",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    ...(net ? [] : ["--unshare-net"]),
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    "--hostname",
    SANDBOX_HOSTNAME,
  ];
  // everything first, so that what follows lands on top of it
  if (permissions.write === true) args.push("--bind", "/", "/");
  else if (permissions.read === true) args.push("--ro-bind", "/", "/");
  for (const entry of spec.system) {
    if (entry.kind === "dir") args.push("--ro-bind", entry.path, entry.path);
    else args.push("--symlink", entry.target, entry.path);
  }
  for (const file of [...SYSTEM_ETC, ...(net ? NETWORK_ETC : [])]) {
    args.push("--ro-bind-try", file, file);
  }
  args.push("--dev", "/dev", "--proc", "/proc");
  // with everything visible, /tmp stays the host's
  if (permissions.read !== true && permissions.write !== true) args.push("--tmpfs", "/tmp");
  const paths = (grant: readonly string[] | boolean | undefined) =>
    Array.isArray(grant) ? grant.map((p) => absolute(p, spec.cwd)) : [];
  for (const path of unique([...spec.visible, ...paths(permissions.read)])) {
    args.push("--ro-bind-try", path, path);
  }
  for (const path of unique(paths(permissions.write))) args.push("--bind-try", path, path);
  args.push("--bind", spec.socketDir, spec.socketDir);
  if (spec.cwd !== "/") args.push("--dir", spec.cwd);
  args.push("--chdir", spec.cwd, "--", spec.command, ...spec.args);
  return args;
}

/**
 * Lists what takes a sandboxed executable's grant beyond least privilege.
 *
 * @param permissions A grant.
 * @returns Human warnings, empty when the grant is narrow.
 * @example
 * ```ts
 * import { executableEscapes } from "./bwrap.ts";
 * const [warning] = executableEscapes({ net: ["api.example.com:443"] });
 * if (!warning?.includes("all or nothing")) throw new Error(warning);
 * ```
 */
export function executableEscapes(permissions: Permissions): string[] {
  const warnings: string[] = [];
  if (permissions.net === true) warnings.push("may connect anywhere (shares the host's network)");
  else if (Array.isArray(permissions.net) && permissions.net.length > 0) {
    warnings.push(
      "may connect anywhere: an executable's network is all or nothing, and a list of hosts shares the host's network",
    );
  }
  if (permissions.write === true) warnings.push("may write any file");
  else if (permissions.read === true) warnings.push("may read any file");
  return warnings;
}

/**
 * Reads how the host lays out {@linkcode SYSTEM_DIRS}: a directory, a
 * symlink (Debian's merged `/usr`: `/bin → usr/bin`), or absent.
 *
 * @returns The entries that exist.
 */
export function systemLayout(): SystemEntry[] {
  const entries: SystemEntry[] = [];
  for (const path of SYSTEM_DIRS) {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(path);
    } catch {
      continue;
    }
    if (info.isSymlink) entries.push({ path, kind: "symlink", target: Deno.readLinkSync(path) });
    else if (info.isDirectory) entries.push({ path, kind: "dir" });
  }
  return entries;
}

/**
 * Whether a path is inside one of the system directories the sandbox always shows.
 *
 * @param path An absolute path.
 * @returns `true` for e.g. `/usr/bin/python3`.
 */
export function isSystemPath(path: string): boolean {
  return SYSTEM_DIRS.some((dir) => path === dir || path.startsWith(`${dir}/`));
}

function absolute(path: string, cwd: string): string {
  if (path === "") throw new TypeError("Cannot grant a sandboxed path: empty path");
  return isAbsolute(path) ? resolve(path) : resolve(cwd, path);
}

function unique(paths: string[]): string[] {
  return [...new Set(paths)];
}
