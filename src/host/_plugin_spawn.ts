/**
 * The first half of a plugin's start: plan its launch (socket directory,
 * the host's own permissions, command and environment, module graph and
 * checksum checks) and spawn it. Internal to `src/host/`.
 *
 * @module
 */
import { dirname } from "node:path";
import { type CertifiedKey, generateCertificate } from "../protocol/auto_mtls.ts";
import { type LaunchPlan, planLaunch } from "./_launch_plan.ts";
import type { ResolvedPluginOptions } from "./_resolve_options.ts";
import type { StartDeadline } from "./_start_deadline.ts";
import { Watchdog } from "./_watchdog.ts";
import { checkModuleGraph } from "./module_root.ts";
import { checksumTarget, verifyChecksum } from "./checksum.ts";
import { PluginExitedError } from "./errors.ts";
import { checkHostPermissions, socketDirError } from "./host_permissions.ts";
import { denoExecutable } from "./deno_command.ts";
import { PluginProcess } from "./plugin_process.ts";

/** A spawned plugin process and what its launch was. */
export interface SpawnedPlugin {
  /** The process. */
  process: PluginProcess;
  /** What was spawned (its flags, sandbox and escapes are shown by `info()`). */
  plan: LaunchPlan;
  /** The socket path the host chose (the plugin's, with `handshake: "none"`). */
  socketPath: string;
  /** The plugin's private socket directory. */
  dir: string;
  /** The host's AutoMTLS certificate, if any. */
  clientCert: CertifiedKey | undefined;
  /** Where a Deno plugin may load modules from. */
  moduleRoot: string | undefined;
  /** `performance.now()` at the spawn. */
  spawnedAt: number;
}

/**
 * Plans a plugin's launch and spawns it. On failure nothing is left behind.
 *
 * @param options The plugin's resolved options.
 * @param deadline The start's deadline.
 * @returns The spawned plugin.
 * @throws {HandshakeError} When the deadline fires while planning.
 * @throws {PluginExitedError} When the command cannot be run.
 */
export async function spawnPlugin(
  options: ResolvedPluginOptions,
  deadline: StartDeadline,
): Promise<SpawnedPlugin> {
  const { name, target } = options;
  const clientCert = options.autoMtls ? await generateCertificate() : undefined;
  // the watchdog makes the directory: nothing is on disk before something
  // exists that removes it should this host die during the start
  const watchdog = await Watchdog.open(options.socketParent).catch((error) => {
    throw socketDirError(name, options.socketParent, error);
  });
  const { dir, socketPath } = watchdog;
  let plan: LaunchPlan;
  let moduleRoot: string | undefined;
  try {
    checkHostPermissions(name, {
      socketPath,
      socketParent: dirname(dir),
      // a sandboxed executable is started by /bin/sh and bwrap, which Deno does not check
      run: options.module !== undefined
        ? [denoExecutable()]
        : options.sandbox === false
        ? [target]
        : [],
    });
    plan = await planLaunch(options, { dir, socketPath, clientCert });
    if (options.module !== undefined) moduleRoot = await checkModuleGraph(name, target, options);
    if (options.sha256 !== undefined) {
      await verifyChecksum(name, options.sha256, checksumTarget(options, target), options.signal);
    }
  } catch (error) {
    await watchdog.close();
    if (!deadline.signal.aborted) throw error;
    throw deadline.error(name, "the plugin module was not cached", { stderrTail: [] });
  }
  const spawnedAt = performance.now();
  try {
    const process = PluginProcess.spawn({
      name,
      command: plan.command,
      args: plan.args,
      env: plan.env,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      logger: options.logger,
      tailLines: options.stderrTailLines,
    }, watchdog);
    return { process, plan, socketPath, dir, clientCert, moduleRoot, spawnedAt };
  } catch (error) {
    await watchdog.close();
    throw new PluginExitedError(name, "before it started", { code: 127, signal: null }, [
      `cannot run ${plan.command}: ${error instanceof Error ? error.message : String(error)}`,
    ]);
  }
}
