/**
 * The implementation of {@linkcode PluginBroker} (see `broker.ts` for the
 * wire facts). Internal to `src/host/`.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { createClient, type Transport } from "../npm/connect.ts";
import { type ConnInfo, GRPCBroker } from "../gen/plugin/grpc_broker_pb.ts";
import type {
  DialOptions,
  GrpcChannel,
  GrpcConnector,
  ServiceRegistration,
  SocketAddress,
} from "../transport/transport.ts";
import { BrokerAbuseError } from "../protocol/broker_announcements.ts";
import { BrokerEndpoint } from "../protocol/broker_endpoint.ts";
import {
  addressOf,
  hostBrokerSocket,
  isHostBrokerSocket,
  pluginBrokerSocket,
} from "../protocol/broker_sockets.ts";
import type { GrpcMultiplexer } from "../transport/multiplex.ts";
import type { Permissions } from "./permissions.ts";
import type { BrokerDialOptions, BrokeredServer, PluginBroker } from "./broker.ts";
import { isLoopback } from "./handshake.ts";
import { isNotASocket } from "./_dial_target.ts";
import type { ResolvedPluginOptions } from "./_resolve_options.ts";
import type { ReadyPlugin } from "./_plugin_ready.ts";

/** What a broker needs of its plugin (made by `Plugin`). */
export interface BrokerContext {
  /** The plugin's name, for errors. */
  name: string;
  /** The transport to the plugin, on which the broker stream runs. */
  transport: Transport;
  /** Dials and listens. */
  connector: GrpcConnector;
  /** The plugin's private socket directory. */
  socketDir: string;
  /** Options for dialing the plugin (message limits, AutoMTLS). */
  dialOptions: DialOptions;
  /** Whether the plugin may announce loopback tcp addresses. */
  allowTcp: boolean;
  /**
   * How many brokered sockets the host's servers may use at once: the
   * slots a sandboxed Deno plugin was granted (`brokerSockets`); unlimited
   * when undefined (executables are not sandboxed by Deno).
   */
  socketSlots: number | undefined;
  /** How many of the plugin's announcements may wait to be dialed (`maxBrokerAnnouncements`). */
  maxAnnouncements: number;
  /**
   * The multiplexed connection (with `multiplex`): brokered servers and
   * dials are streams on it, matched by knocks, instead of sockets.
   */
  multiplexer?: GrpcMultiplexer | undefined;
  /**
   * Called once when the plugin abuses the broker stream (too many
   * announcements waiting, an oversized address): the plugin kills it,
   * with `reason` (what it did) as its exit reason.
   */
  onAbuse: (reason: string) => void;
}

/**
 * A Deno plugin's grant plus `slots` brokered sockets each way: read,
 * write and `unix:` net on `broker-<n>.sock` (the host's servers, which it
 * dials) and `plugin-broker-<n>.sock` (its own), n = 1…slots.
 *
 * @param permissions The plugin's grant.
 * @param socketDir Its socket directory.
 * @param pluginSocket Its own socket.
 * @param slots How many each way.
 * @returns The grant with the sockets added.
 */
export function withBrokerSockets(
  permissions: Permissions,
  socketDir: string,
  pluginSocket: string,
  slots: number,
): Permissions {
  const paths: string[] = [];
  for (let slot = 1; slot <= slots; slot++) {
    paths.push(hostBrokerSocket(socketDir, slot), pluginBrokerSocket(pluginSocket, slot));
  }
  if (paths.length === 0) return permissions;
  const add = (grant: readonly string[] | boolean | undefined, extra: string[]) =>
    grant === true ? true : [...(grant || []), ...extra];
  return {
    ...permissions,
    read: add(permissions.read, paths),
    write: add(permissions.write, paths),
    net: add(permissions.net, paths.map((path) => `unix:${path}`)),
  };
}

/**
 * The broker of a started plugin, from its resolved options and readiness
 * (a sandboxed Deno plugin's brokered sockets are its granted slots).
 *
 * @param name The plugin's name.
 * @param options Its resolved options.
 * @param socketDir Its socket directory.
 * @param ready What its readiness left: transport, connector, dial options, multiplexer.
 * @param onAbuse Kills the plugin for abusing the broker stream.
 * @returns The broker.
 */
export function pluginBroker(
  name: string,
  options: ResolvedPluginOptions,
  socketDir: string,
  ready: ReadyPlugin,
  onAbuse: (reason: string) => void,
): Broker {
  return new Broker({
    name,
    transport: ready.channel.transport,
    socketDir,
    connector: ready.connector,
    dialOptions: ready.dialOptions,
    allowTcp: options.allowTcp,
    socketSlots: options.module === undefined ? undefined : options.brokerSockets,
    maxAnnouncements: options.maxBrokerAnnouncements,
    multiplexer: ready.multiplexer,
    onAbuse,
  });
}

/** go-plugin's broker for one plugin; `Plugin` makes it and closes it when the plugin ends. */
export class Broker implements PluginBroker {
  readonly #context: BrokerContext;
  readonly #endpoint: BrokerEndpoint;
  #abort = new AbortController();
  #running: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  /** @param context The plugin's facts; made by `Plugin`. */
  constructor(context: BrokerContext) {
    this.#context = context;
    this.#endpoint = new BrokerEndpoint({ maxAnnouncements: context.maxAnnouncements });
    const mux = context.multiplexer;
    if (mux !== undefined) this.#endpoint.onKnock = (id) => mux.expect(id);
  }

  /** See {@linkcode PluginBroker.nextId}. */
  nextId(): number {
    return this.#endpoint.nextId();
  }

  /** See {@linkcode PluginBroker.serve}. */
  async serve(id: number, services: readonly ServiceRegistration[]): Promise<BrokeredServer> {
    this.#endpoint.check(id);
    this.#start();
    const { name, socketDir, socketSlots: limit, connector, dialOptions } = this.#context;
    const mux = this.#context.multiplexer;
    if (mux !== undefined) {
      // go-plugin announces nothing then: the plugin knocks on the id to reach it
      const close = this.#endpoint.ownServer(mux.serve(id, services));
      return { id, path: "", close, [Symbol.asyncDispose]: close };
    }
    const { tls, readMaxBytes, writeMaxBytes } = dialOptions;
    return await this.#endpoint.serve(id, {
      pathFor: (slot) => hostBrokerSocket(socketDir, slot),
      listen: (path, slot) => {
        if (limit !== undefined && slot > limit) {
          const why = limit === 0
            ? "it may use no brokered sockets (start it with brokerSockets)"
            : `its ${limit} brokered socket(s) are in use (raise brokerSockets)`;
          throw new Error(`Cannot serve broker id ${id} for plugin "${name}": ${why}`);
        }
        return connector.listen(path, services, {
          ...(readMaxBytes === undefined ? {} : { readMaxBytes }),
          ...(writeMaxBytes === undefined ? {} : { writeMaxBytes }),
          // AutoMTLS: the host's certificate, and only the plugin's accepted as a client
          ...(tls === undefined ? {} : {
            tls: {
              certificate: tls.certificate,
              privateKey: tls.privateKey,
              clientCertificate: tls.serverCertificate,
            },
          }),
        });
      },
    });
  }

  /** See {@linkcode PluginBroker.dial}. */
  async dial(id: number, options: BrokerDialOptions = {}): Promise<GrpcChannel> {
    options.signal?.throwIfAborted();
    this.#endpoint.check(id);
    this.#start();
    const mux = this.#context.multiplexer;
    if (mux !== undefined) {
      const peer = `plugin "${this.#context.name}"`;
      const knock = () => this.#endpoint.knock(id, { timeoutMs: options.timeoutMs, peer });
      return this.#endpoint.own(mux.channel(knock, this.#context.dialOptions));
    }
    return await this.#endpoint.dial(id, {
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      peer: `plugin "${this.#context.name}"`,
      check: (info) => this.#validate(id, info),
      dial: (address) => this.#context.connector.dial(address, this.#context.dialOptions),
    });
  }

  /** Ends the broker stream and closes every brokered server and channel. Idempotent. */
  close(): Promise<void> {
    return this.#closing ??= (async () => {
      const error = new Error(
        `Cannot use the broker of plugin "${this.#context.name}": it has stopped`,
      );
      this.#endpoint.end(error);
      this.#abort.abort();
      await this.#running;
      await this.#endpoint.close(error);
    })();
  }

  #start(): void {
    this.#running ??= this.#run();
  }

  async #run(): Promise<void> {
    const broker = createClient(GRPCBroker, this.#context.transport);
    const signal = this.#abort.signal;
    const fail = (why: string, cause?: unknown) =>
      this.#endpoint.end(
        new Error(
          `Cannot use the broker of plugin "${this.#context.name}": ${why}`,
          cause === undefined ? undefined : { cause },
        ),
      );
    try {
      await this.#endpoint.receive(
        broker.startStream(this.#endpoint.outgoing(signal), { signal }),
      );
      fail("the plugin ended its broker stream");
    } catch (error) {
      if (error instanceof BrokerAbuseError) {
        fail(`the plugin ${error.message}; the host killed it`, error);
        this.#context.onAbuse(error.message);
        return;
      }
      fail((error as Error).message, error);
    }
  }

  /**
   * The address to dial for an announcement, refused unless it is a socket
   * of the plugin's own in its socket directory (never one of the host's
   * brokered sockets there: a plugin announcing one would have the host
   * call itself on the plugin's behalf), or loopback tcp with `allowTcp`.
   */
  async #validate(id: number, info: ConnInfo): Promise<SocketAddress> {
    const refuse = (why: string): never => {
      throw new Error(
        `Cannot dial broker id ${id} of plugin "${this.#context.name}": ${why} (${info.network} ${info.address})`,
      );
    };
    if (info.network === "unix") {
      if (
        !info.address.startsWith("/") ||
        dirname(resolve(info.address)) !== resolve(this.#context.socketDir)
      ) {
        refuse("the socket is not inside the plugin's socket directory");
      }
      const path = resolve(info.address);
      if (isHostBrokerSocket(resolve(this.#context.socketDir), path)) {
        refuse("it is the host's own brokered socket, and the host does not dial itself");
      }
      if (await isNotASocket(path)) refuse("it is not a socket (a symlink or a file)");
      return addressOf("unix", info.address);
    }
    if (info.network === "tcp") {
      if (!this.#context.allowTcp) refuse("tcp is not allowed (start the plugin with allowTcp)");
      if (!isLoopback(info.address)) refuse("the tcp address is not on loopback");
      return addressOf("tcp", info.address);
    }
    return refuse(`network "${info.network}" is not supported`);
  }
}
