/**
 * The plugin's side of go-plugin's `plugin.GRPCBroker`: extra gRPC
 * connections between a plugin and its host, named by numeric ids, for
 * callbacks in either direction. A service implementation reaches it
 * through {@linkcode ServeContext.broker}: give `serve()` a function as
 * `services`.
 *
 * Wire facts (go-plugin's `grpc_broker.go`): the host opens one
 * `plugin.GRPCBroker/StartStream` bidi stream to the plugin (a go-plugin
 * host at once, a Bulkhead host on first use of `plugin.broker`); each side
 * sends `ConnInfo{service_id, network, address}` on it to announce a server
 * it listens on for that id, and the other side dials the announced
 * address. Ids are per direction: the host's announcements and the
 * plugin's never collide. An announcement made before the stream is open
 * waits for it.
 *
 * With AutoMTLS (`PLUGIN_CLIENT_CERT` set) brokered connections use the
 * same certificates as the main one: the plugin's servers present its
 * certificate and accept only the host's; its dials present its
 * certificate and accept only the host's (pinned, byte for byte).
 *
 * Permissions: Deno grants Unix sockets by exact path. Under a Bulkhead
 * host, start the plugin with `brokerSockets: N` to grant it N brokered
 * sockets each way (see `src/protocol/broker_sockets.ts`); under a
 * go-plugin host, whose brokered servers listen on random paths in the
 * temporary directory, the plugin needs `--allow-net` and read and write
 * there.
 *
 * @module
 */
import type { GrpcChannel } from "../transport/transport.ts";
import type { PluginService } from "./serve.ts";

/** What `serve()` passes to a `services` function. */
export interface ServeContext {
  /** Brokered connections with the host. */
  readonly broker: HostBroker;
  /** The application protocol version negotiated with the host (the host sees it as `plugin.handshake.appVersion`). */
  readonly appVersion: number;
}

/** Options for {@linkcode HostBroker.dial}. */
export interface HostBrokerDialOptions {
  /**
   * How long to wait for the host to announce the id, in milliseconds
   * (go-plugin's `Dial` waits 5 s).
   * @default {5000}
   */
  timeoutMs?: number;
  /** Ends the wait. */
  signal?: AbortSignal;
}

/**
 * A server the plugin runs for its host under a broker id. `close()` stops
 * it at once (calls in flight fail) and removes its socket file; it is
 * idempotent and never rejects. The plugin's exit closes it too.
 */
export interface HostBrokerServer extends AsyncDisposable {
  /** The broker id it was announced under. */
  readonly id: number;
  /** Its socket path, next to the plugin's own socket (`""` when multiplexed: no socket). */
  readonly path: string;
  /** Stops serving and removes the socket file. Idempotent. */
  close(): Promise<void>;
}

/**
 * Brokered connections to and from the host; get it from
 * {@linkcode ServeContext.broker}. It ends when the plugin stops: every
 * brokered server and channel is closed then, and waiting dials fail.
 *
 * @example
 * ```ts ignore
 * import { createClient } from "npm:@connectrpc/connect@2.2.0";
 * import { serve, service } from "./plugin.ts";
 * import { Callbacks, Counter } from "./src/gen/bulkhead/testing/v1/callback_pb.ts";
 *
 * await serve({
 *   services: ({ broker }) => [
 *     service(Callbacks, {
 *       // call a service the host serves under an id it chose
 *       async addViaBroker({ brokerId, delta }) {
 *         await using channel = await broker.dial(brokerId);
 *         const answer = await createClient(Counter, channel.transport).add({ delta });
 *         return { total: answer.total, servedBy: answer.servedBy };
 *       },
 *       // serve a Counter of the plugin's own; the host dials the id
 *       async serveCounter() {
 *         const id = broker.nextId();
 *         await broker.serve(id, [
 *           service(Counter, { add: (r) => ({ total: r.delta, servedBy: "plugin" }) }),
 *         ]);
 *         return { brokerId: id };
 *       },
 *     }),
 *   ],
 * });
 * ```
 */
export interface HostBroker {
  /**
   * A new id for {@linkcode HostBroker.serve}, unique on the plugin's side
   * (1, 2, 3, … as go-plugin's `NextId`).
   *
   * @returns The id.
   * @example
   * ```ts ignore
   * const id = broker.nextId();
   * ```
   */
  nextId(): number;
  /**
   * Serves `services` for the host under broker `id` (go-plugin's
   * `AcceptAndServe`): listens on a new socket next to the plugin's own
   * (TLS under AutoMTLS) and announces it on the broker stream; the host
   * reaches it with `plugin.broker.dial(id)` (Bulkhead) or `broker.Dial(id)`
   * (go-plugin). Tell the host the id in a reply.
   *
   * @param id The broker id (see {@linkcode HostBroker.nextId}).
   * @param services What to serve, made with `service()`.
   * @returns The running server, once it listens; close it (or let the plugin end) to stop it.
   * @throws {RangeError} When `id` is not a uint32.
   * @throws {Error} When the plugin may not listen there (under a Bulkhead
   *   host: more servers open than `brokerSockets` granted), or the broker has ended.
   * @example
   * ```ts ignore
   * await using server = await broker.serve(broker.nextId(), [
   *   service(Counter, { add: (r) => ({ total: r.delta, servedBy: "plugin" }) }),
   * ]);
   * ```
   */
  serve(id: number, services: readonly PluginService[]): Promise<HostBrokerServer>;
  /**
   * Dials a server the host announced under broker `id` (go-plugin's
   * `broker.Dial(id)`), waiting for the announcement. With AutoMTLS the
   * channel presents the plugin's certificate and accepts only the host's.
   *
   * @param id The broker id, as the host told it.
   * @param options How long to wait.
   * @returns A channel to the host's server (connected on its first call); the caller closes it
   *   (the plugin's end closes it too).
   * @throws {RangeError} When `id` is not a uint32.
   * @throws {Error} When no announcement comes in time, its network is neither `unix` nor `tcp`,
   *   or the broker has ended.
   * @example
   * ```ts ignore
   * await using channel = await broker.dial(brokerId);
   * const counter = createClient(Counter, channel.transport);
   * ```
   */
  dial(id: number, options?: HostBrokerDialOptions): Promise<GrpcChannel>;
}
