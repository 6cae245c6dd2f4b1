/**
 * The second half of a plugin's start: wait until the spawned plugin is
 * ready — go-plugin's handshake line and a health check, or (with
 * `handshake: "none"`) the `ready` probe on the socket the host chose — and
 * kill it when it is not. Internal to `src/host/`.
 *
 * @module
 */
import type { DialOptions, GrpcChannel, GrpcConnector } from "../transport/transport.ts";
import { connectorFor } from "../transport/connectors.ts";
import { drainStdio, waitForHandshake, waitForHealth } from "./_readiness.ts";
import { healthProbe, waitForAddress } from "./_address_readiness.ts";
import { addressOf, isNotASocket, tlsFor } from "./_dial_target.ts";
import type { ResolvedPluginOptions } from "./_resolve_options.ts";
import type { SpawnedPlugin } from "./_plugin_spawn.ts";
import type { StartDeadline } from "./_start_deadline.ts";
import { HandshakeError, PluginError } from "./errors.ts";
import type { Handshake } from "./handshake.ts";
import { logLine } from "./logger.ts";

/** A ready plugin's connection. */
export interface ReadyPlugin {
  /** The validated handshake (with `handshake: "none"`: the host's socket, `line` empty). */
  handshake: Handshake;
  /** The connection. */
  channel: GrpcChannel;
  /** What dialled it (broker connections use the same). */
  connector: GrpcConnector;
  /** How it was dialled (broker connections use the same). */
  dialOptions: DialOptions;
  /** Settles when the plugin's stdio stream ends (at once with `handshake: "none"`). */
  stdioDone: Promise<void>;
  /** Milliseconds from spawn to ready. */
  readyInMs: number;
}

/**
 * Waits until a spawned plugin is ready. On failure the plugin is killed
 * and cleaned up, and a fired deadline or abort is one typed error.
 *
 * @param options The plugin's resolved options.
 * @param spawned The spawned plugin.
 * @param deadline The start's deadline (begun here).
 * @returns Its connection.
 * @throws {HandshakeError} When the handshake or readiness fails or the deadline fires.
 * @throws {PluginExitedError} When the plugin exits before it is ready.
 */
export async function awaitReady(
  options: ResolvedPluginOptions,
  spawned: SpawnedPlugin,
  deadline: StartDeadline,
): Promise<ReadyPlugin> {
  const { name, logger } = options;
  const { process, socketPath } = spawned;
  deadline.begin();
  let channel: GrpcChannel | undefined;
  const dialOptions: DialOptions = {
    readMaxBytes: options.maxMessageBytes,
    writeMaxBytes: options.maxMessageBytes,
    ...(options.codec === undefined ? {} : { codec: options.codec }),
  };
  try {
    const connector = await connectorFor(options.transport);
    const ready = (handshake: Handshake, channel: GrpcChannel, stdioDone: Promise<void>) => ({
      handshake,
      channel,
      connector,
      dialOptions,
      stdioDone,
      readyInMs: performance.now() - spawned.spawnedAt,
    });
    if (options.handshake === "none") {
      // no handshake line: the first stdout line is a log line like the rest
      void process.firstLine().then((line) => {
        if (line !== undefined) logLine(logger, name, line, "stdout");
      });
      channel = await waitForAddress(
        name,
        process,
        connector,
        socketPath,
        dialOptions,
        options.ready ?? healthProbe,
        deadline,
      );
      return ready(bareHandshake(socketPath), channel, Promise.resolve());
    }
    const handshake = await waitForHandshake(name, process, deadline, {
      versions: options.protocolVersions,
      socketDir: spawned.dir,
      allowTcp: options.allowTcp,
      cookieKey: options.cookie.key,
    });
    if (handshake.network === "unix" && await isNotASocket(handshake.address)) {
      throw new HandshakeError(
        name,
        "address",
        `${handshake.address} is not a socket (a symlink or a file): the host dials only the plugin's own socket`,
        { line: handshake.line, stderrTail: process.stderrTail() },
      );
    }
    const tls = tlsFor(name, handshake, spawned.clientCert, process.stderrTail());
    if (tls !== undefined) dialOptions.tls = tls;
    channel = connector.dial(addressOf(handshake.network, handshake.address), dialOptions);
    await waitForHealth(name, process, channel, deadline, {
      serving: options.waitForServing,
      line: handshake.line,
      logger,
    });
    const stdioDone = drainStdio(name, channel, logger);
    await options.ready?.(channel.transport, deadline.signal);
    return ready(handshake, channel, stdioDone);
  } catch (error) {
    await channel?.close();
    process.kill("SIGKILL");
    // its last output is in the error already: do not wait long for the
    // pipes, which a child that left the process group may hold
    await process.cleanup(100);
    // whatever the last wait threw, a fired deadline or abort is one typed error
    if (error instanceof PluginError || !deadline.signal.aborted) throw error;
    throw deadline.error(name, "the plugin was not ready", { stderrTail: process.stderrTail() });
  }
}

/** The handshake a plugin launched with `handshake: "none"` is taken to have made. */
function bareHandshake(socketPath: string): Handshake {
  return {
    coreVersion: 1,
    appVersion: 1,
    network: "unix",
    address: socketPath,
    protocol: "grpc",
    serverCert: "",
    mux: false,
    line: "",
  };
}
