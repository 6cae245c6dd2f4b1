/**
 * The attach side of reattach: `Plugin.attach` checks a config against what
 * runs before it touches anything, takes the previous host's guardian's
 * place and connects.
 *
 * What the successor believes, and why: the socket directory is this user's
 * and mode 0700 (only this user could have made what is in it); the plugin's
 * pid has the start time the config names (not a reused pid), is this
 * user's, leads its process group, and its environment names the socket
 * (the plugin of that directory); the guardian's pid has its start time and
 * its command line shows that directory and the SHA-256 of the config's
 * token (only the host that started the plugin knew the token); and the
 * plugin answers a health check on its socket (over AutoMTLS with the pinned
 * certificate, when on). Only then is anything signalled: the successor
 * starts its own guardian, kills the old one's process group (it and its
 * `sleep`), reopens the plugin's stdio and checks the plugin still runs.
 *
 * @module
 */
import { createClient } from "../npm/connect.ts";
import type { GrpcChannel } from "../transport/transport.ts";
import { connectorFor } from "../transport/connectors.ts";
import { Health } from "../gen/grpc/health/v1/health_pb.ts";
import { addressOf, isNotASocket, tlsFor } from "./_dial_target.ts";
import { drainStdio } from "./_readiness.ts";
import { healthProbe } from "./_address_readiness.ts";
import { Watchdog, WATCHDOG_NAME } from "./_watchdog.ts";
import { isSameProcess, ownUid, processIdentity, procStrings } from "./_proc_identity.ts";
import { type ResolvedPluginOptions, resolvePluginOptions } from "./_resolve_options.ts";
import type { SpawnedPlugin } from "./_plugin_spawn.ts";
import type { ReadyPlugin } from "./_plugin_ready.ts";
import type { Handshake } from "./handshake.ts";
import { AttachedProcess } from "./reattach_process.ts";
import { type AttachOptions, ReattachTicket } from "./reattach.ts";
import {
  parseReattachConfig,
  type ReattachConfig,
  ReattachError,
  tokenHash,
} from "./reattach_config.ts";

/** An adopted plugin process, in the place of a spawned one. */
export type AdoptedPlugin = Omit<SpawnedPlugin, "process"> & { process: AttachedProcess };

/** What `Plugin.attach` builds a `Plugin` from: what `Plugin.start` builds one from. */
export interface AttachedPlugin {
  /** Its options, as for a started plugin. */
  options: ResolvedPluginOptions;
  /** The adopted process, as a spawned one. */
  spawned: AdoptedPlugin;
  /** The connection. */
  ready: ReadyPlugin;
}
/**
 * Checks a reattach config against what runs, takes over from the previous
 * host's guardian and connects (see the module doc for what is checked).
 *
 * @param value The config (as `JSON.parse` returned it: untrusted).
 * @param options How to attach.
 * @returns The adopted plugin's parts.
 * @throws {ReattachError} When the config is malformed, stale or does not match, or the plugin does not answer.
 */
export async function attachPlugin(
  value: unknown,
  options: AttachOptions,
): Promise<AttachedPlugin> {
  options.signal?.throwIfAborted();
  const started = performance.now();
  const config = parseReattachConfig(value);
  const name = options.name ?? config.name;
  const { signal: _, ...given } = options;
  const resolved = resolvePluginOptions({
    ...given,
    // what runs is the adopted process; nothing is spawned from this
    command: `/proc/${config.pid}/exe`,
    name,
    handshake: config.handshake,
    ...(config.sandbox === "none" ? { sandbox: false } : {}),
  });
  const hash = await tokenHash(config.token);
  await verify(name, config, hash);
  const handshake: Handshake = {
    coreVersion: 1,
    appVersion: config.appVersion,
    network: "unix",
    address: config.address,
    protocol: "grpc",
    serverCert: config.serverCert,
    mux: false,
    line: "",
  };
  const dialOptions: ReadyPlugin["dialOptions"] = {
    readMaxBytes: resolved.maxMessageBytes,
    writeMaxBytes: resolved.maxMessageBytes,
    ...(options.codec === undefined ? {} : { codec: options.codec }),
  };
  // It must answer (over its pinned TLS, if any) before anything is touched.
  const connector = await connectorFor(options.transport);
  let channel: GrpcChannel | undefined;
  try {
    const tls = tlsFor(name, handshake, config.clientCert, []);
    if (tls !== undefined) dialOptions.tls = tls;
    channel = connector.dial(addressOf("unix", config.address), dialOptions);
    const signal = options.signal ?? AbortSignal.timeout(10_000);
    if (config.handshake === "go-plugin") {
      await createClient(Health, channel.transport).check({ service: "plugin" }, { signal });
    } else {
      await (options.ready ?? healthProbe)(channel.transport, signal);
    }
  } catch (error) {
    await channel?.close().catch(() => {});
    throw new ReattachError(
      name,
      "unreachable",
      `the plugin did not answer on ${config.address} (${
        error instanceof Error ? error.message : String(error)
      }); it was left as it was`,
      { cause: error },
    );
  }
  // Take over: our guardian first (from now on it removes everything should
  // this host die), then the old one goes, its `sleep` with it.
  const watchdog = Watchdog.adopt(config.socketDir, config.pid, {
    windowMs: config.reattachWindowMs,
    tokenHash: hash,
  });
  if (isSameProcess(config.watchdog.pid, config.watchdog.startTime)) {
    try {
      Deno.kill(-config.watchdog.pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  const process = await AttachedProcess.adopt({
    name,
    pid: config.pid,
    startTime: config.pidStartTime,
    logger: resolved.logger,
    tailLines: resolved.stderrTailLines,
  }, watchdog);
  if (!isSameProcess(config.pid, config.pidStartTime)) {
    // the old guardian's window ended as this host took over
    await channel.close().catch(() => {});
    await process.cleanup(100);
    throw new ReattachError(
      name,
      "stale",
      `process ${config.pid} exited as this host attached (its reattach window ended)`,
    );
  }
  const stdioDone = config.handshake === "go-plugin"
    ? drainStdio(name, channel, resolved.logger)
    : Promise.resolve();
  const ticket = new ReattachTicket(config.token, config.reattachWindowMs)
    .handOver(config.handshake, config.clientCert);
  return {
    options: resolved,
    spawned: {
      process,
      plan: { command: "", args: [], env: {}, flags: [], sandbox: config.sandbox, escapes: [] },
      socketPath: config.address,
      dir: config.socketDir,
      clientCert: config.clientCert,
      moduleRoot: undefined,
      spawnedAt: started,
      reattach: { ticket, watchdogPid: watchdog.pid },
    },
    ready: {
      handshake,
      channel,
      connector,
      dialOptions,
      stdioDone,
      readyInMs: performance.now() - started,
    },
  };
}

/** Everything the module doc lists, before anything is signalled. */
async function verify(name: string, config: ReattachConfig, hash: string): Promise<void> {
  const uid = ownUid();
  const fail = (reason: "stale" | "mismatch", detail: string): never => {
    throw new ReattachError(name, reason, detail);
  };
  const dir = await Deno.lstat(config.socketDir).catch(() => undefined);
  if (dir === undefined) fail("stale", `its socket directory ${config.socketDir} is gone`);
  if (
    !dir!.isDirectory || dir!.isSymlink || (uid !== undefined && dir!.uid !== uid) ||
    ((dir!.mode ?? 0) & 0o777) !== 0o700
  ) {
    fail(
      "mismatch",
      `${config.socketDir} is not a socket directory of this user's (a 0700 directory)`,
    );
  }
  const plugin = processIdentity(config.pid);
  if (plugin === undefined || plugin.state === "Z" || plugin.startTime !== config.pidStartTime) {
    fail(
      "stale",
      `process ${config.pid} is gone${
        plugin === undefined || plugin.startTime === config.pidStartTime
          ? ""
          : " (its pid belongs to another process now)"
      }`,
    );
  }
  if (uid !== undefined && plugin!.uid !== uid) {
    fail("mismatch", `process ${config.pid} is another user's`);
  }
  if (plugin!.pgid !== config.pid) {
    fail("mismatch", `process ${config.pid} does not lead its process group`);
  }
  const environ = procStrings(config.pid, "environ").map((e) => e.slice(e.indexOf("=") + 1));
  if (
    !environ.some((v) =>
      v === config.socketDir || v === config.address || v === `unix:${config.address}`
    )
  ) {
    fail(
      "mismatch",
      `process ${config.pid} is not the plugin of ${config.socketDir} (its environment does not name it)`,
    );
  }
  const guard = processIdentity(config.watchdog.pid);
  if (guard === undefined || guard.state === "Z" || guard.startTime !== config.watchdog.startTime) {
    fail(
      "stale",
      `the guardian of ${config.socketDir} (process ${config.watchdog.pid}) is gone: its reattach window has passed`,
    );
  }
  const argv = procStrings(config.watchdog.pid, "cmdline");
  if (
    argv[3] !== WATCHDOG_NAME || argv[4] !== config.socketDir || argv[5] !== hash ||
    guard!.pgid !== config.watchdog.pid || (uid !== undefined && guard!.uid !== uid)
  ) {
    fail(
      "mismatch",
      `process ${config.watchdog.pid} is not the guardian of ${config.socketDir} with this config's token`,
    );
  }
  if (await isNotASocket(config.address)) fail("mismatch", `${config.address} is not a socket`);
}
