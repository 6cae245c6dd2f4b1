/**
 * What a plugin is spawned as: the command, arguments and complete
 * environment for its launch mode (go-plugin's handshake or Redpanda's
 * address variable), a Deno module's `deno run` with exactly its grants and
 * flags, and `prlimit` around it all for resource limits. Internal to
 * `src/host/`.
 *
 * @module
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  ENV_HOST_STDIN,
  ENV_PROTOCOL_VERSIONS,
  ENV_SOCKET_PATH,
  ENV_UNIX_SOCKET_DIR,
  type MagicCookie,
} from "../protocol/handshake.ts";
import { type CertifiedKey, ENV_CLIENT_CERT } from "../protocol/auto_mtls.ts";
import { withBrokerSockets } from "./_broker.ts";
import { denoLaunch } from "./deno_command.ts";
import { withRlimits } from "./limits.ts";
import { sandboxEscapes } from "./permissions.ts";
import { executableEscapes } from "./bwrap.ts";
import { planSandboxedLaunch } from "./_exec_sandbox.ts";
import type { PluginOptions, SandboxKind } from "./plugin_options.ts";

/** The environment variable that carries the socket address with `handshake: "none"`. */
export const REDPANDA_ADDRESS_ENV = "REDPANDA_CONNECT_PLUGIN_ADDRESS";

/** What `Plugin.start` has worked out before planning the launch. */
export interface LaunchFacts {
  /** The plugin's name, for errors. */
  name: string;
  /** The module specifier (see {@linkcode moduleSpecifier}) or the command. */
  target: string;
  /** The plugin's private socket directory. */
  dir: string;
  /** The socket path the host chose in it. */
  socketPath: string;
  /** Application protocol versions offered. */
  versions: readonly number[];
  /** The magic cookie. */
  cookie: MagicCookie;
  /** `handshake: "none"` (Redpanda Connect's launch). */
  bare: boolean;
  /** The host's AutoMTLS certificate, if any. */
  clientCert: CertifiedKey | undefined;
  /** Brokered socket paths granted to a Deno plugin. */
  brokerSockets: number;
}

/** What to spawn. */
export interface LaunchPlan {
  /** The executable (`deno`, `prlimit` or the plugin's command). */
  command: string;
  /** Its arguments. */
  args: string[];
  /** The plugin's complete environment (nothing else is inherited). */
  env: Record<string, string>;
  /** The permission flags, for `inspect`: `deno run`'s, or bubblewrap's (empty when unsandboxed). */
  flags: string[];
  /** What confines the plugin. */
  sandbox: SandboxKind;
  /** Grants that take it beyond least privilege, in words (for `inspect`). */
  escapes: string[];
}

/**
 * Plans a plugin's launch.
 *
 * @param options The plugin's options.
 * @param facts What the start has worked out.
 * @returns What to spawn.
 * @throws {Error} When a Deno module cannot be cached, or a grant is malformed.
 */
export async function planLaunch(options: PluginOptions, facts: LaunchFacts): Promise<LaunchPlan> {
  const { target, dir, socketPath, bare, clientCert, brokerSockets } = facts;
  const pluginEnv: Record<string, string> = bare
    ? {
      ...options.env,
      [options.addressEnv ?? REDPANDA_ADDRESS_ENV]: `unix:${socketPath}`,
      [ENV_HOST_STDIN]: "1",
    }
    : {
      // Older go-plugin (≤ 1.4, e.g. Debian's 1.0.1) ignores PLUGIN_UNIX_SOCKET_DIR
      // and makes its socket in the temporary directory: point that at ours.
      ...(options.module === undefined ? { TMPDIR: dir } : {}),
      ...options.env,
      [facts.cookie.key]: facts.cookie.value,
      [ENV_PROTOCOL_VERSIONS]: facts.versions.join(","),
      [ENV_UNIX_SOCKET_DIR]: dir,
      [ENV_SOCKET_PATH]: socketPath,
      [ENV_HOST_STDIN]: "1",
      ...(clientCert ? { [ENV_CLIENT_CERT]: clientCert.certificate } : {}),
    };
  let command = target;
  let args = [...(options.args ?? [])];
  let launchEnv: Record<string, string> = {};
  let flags: string[] = [];
  const sandbox: SandboxKind = options.module !== undefined
    ? "deno"
    : options.sandbox === false
    ? "none"
    : "bubblewrap";
  if (options.module !== undefined) {
    const launch = await denoLaunch(target, {
      socketPath,
      envNames: Object.keys(pluginEnv),
      ...(options.permissions || brokerSockets > 0
        ? {
          permissions: withBrokerSockets(options.permissions ?? {}, dir, socketPath, brokerSockets),
        }
        : {}),
      denoFlags: [
        ...(options.limits?.heapMb !== undefined
          ? [`--v8-flags=--max-old-space-size=${options.limits.heapMb}`]
          : []),
        ...(options.denoFlags ?? []),
      ],
      args,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    command = launch.command;
    args = launch.args;
    launchEnv = launch.env;
    flags = launch.args.filter((a) => a.startsWith("--allow-") || a === "--no-prompt");
  }
  if (sandbox !== "bubblewrap") {
    ({ command, args } = withRlimits(options.limits ?? {}, command, args));
    const escapes = sandbox === "deno" ? sandboxEscapes(options.permissions ?? {}) : [];
    return { command, args, env: { ...launchEnv, ...pluginEnv }, flags, sandbox, escapes };
  }
  const sandboxed = await planSandboxedLaunch(options, {
    name: facts.name,
    target,
    socketDir: dir,
    args,
  });
  return {
    command: sandboxed.command,
    args: sandboxed.args,
    env: { ...sandboxed.env, ...pluginEnv },
    flags: sandboxed.flags,
    sandbox,
    escapes: executableEscapes(options.permissions ?? {}),
  };
}

/**
 * A module option as the specifier Deno runs: URLs as they are, paths
 * resolved against `cwd` (default: the host's) as `file:` URLs.
 *
 * @param module The module option.
 * @param cwd The plugin's working directory.
 * @returns The specifier.
 */
export function moduleSpecifier(module: string | URL, cwd: string | undefined): string {
  if (module instanceof URL) return module.href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(module)) return module;
  return pathToFileURL(resolve(cwd ?? Deno.cwd(), module)).href;
}
