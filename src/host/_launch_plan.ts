/**
 * What a plugin is spawned as: the command, arguments and complete
 * environment for its launch mode (go-plugin's handshake or Redpanda's
 * address variable), a Deno module's `deno run` with exactly its grants and
 * flags, and `prlimit` around it all for resource limits. Internal to
 * `src/host/`.
 *
 * @module
 */
import {
  ENV_HOST_STDIN,
  ENV_PROTOCOL_VERSIONS,
  ENV_SOCKET_PATH,
  ENV_UNIX_SOCKET_DIR,
} from "../protocol/handshake.ts";
import { type CertifiedKey, ENV_CLIENT_CERT } from "../protocol/auto_mtls.ts";
import { withBrokerSockets } from "./_broker.ts";
import { denoLaunch } from "./deno_command.ts";
import { withRlimits } from "./limits.ts";
import { sandboxEscapes } from "./permissions.ts";
import { executableEscapes } from "./bwrap.ts";
import { planSandboxedLaunch } from "./_exec_sandbox.ts";
import type { SandboxKind } from "./plugin_options.ts";
import type { ResolvedPluginOptions } from "./_resolve_options.ts";

/** What the start has made before planning the launch. */
export interface LaunchFacts {
  /** The plugin's private socket directory. */
  dir: string;
  /** The socket path the host chose in it. */
  socketPath: string;
  /** The host's AutoMTLS certificate, if any. */
  clientCert: CertifiedKey | undefined;
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
 * @param options The plugin's resolved options.
 * @param facts What the start has made.
 * @returns What to spawn.
 * @throws {Error} When a Deno module cannot be cached, or a grant is malformed.
 */
export async function planLaunch(
  options: ResolvedPluginOptions,
  facts: LaunchFacts,
): Promise<LaunchPlan> {
  const { dir, socketPath, clientCert } = facts;
  const { target, brokerSockets } = options;
  const pluginEnv: Record<string, string> = options.handshake === "none"
    ? {
      ...options.env,
      [options.addressEnv]: `unix:${socketPath}`,
      [ENV_HOST_STDIN]: "1",
    }
    : {
      // Older go-plugin (≤ 1.4, e.g. Debian's 1.0.1) ignores PLUGIN_UNIX_SOCKET_DIR
      // and makes its socket in the temporary directory: point that at ours.
      ...(options.module === undefined ? { TMPDIR: dir } : {}),
      ...options.env,
      [options.cookie.key]: options.cookie.value,
      [ENV_PROTOCOL_VERSIONS]: options.protocolVersions.join(","),
      [ENV_UNIX_SOCKET_DIR]: dir,
      [ENV_SOCKET_PATH]: socketPath,
      [ENV_HOST_STDIN]: "1",
      ...(clientCert ? { [ENV_CLIENT_CERT]: clientCert.certificate } : {}),
    };
  let command = target;
  let args = [...options.args];
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
      permissions: withBrokerSockets(options.permissions, dir, socketPath, brokerSockets),
      denoFlags: [
        ...(options.limits.heapMb !== undefined
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
    ({ command, args } = withRlimits(options.limits, command, args));
    const escapes = sandbox === "deno" ? sandboxEscapes(options.permissions) : [];
    return { command, args, env: { ...launchEnv, ...pluginEnv }, flags, sandbox, escapes };
  }
  const sandboxed = await planSandboxedLaunch(options, {
    name: options.name,
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
    escapes: executableEscapes(options.permissions),
  };
}
