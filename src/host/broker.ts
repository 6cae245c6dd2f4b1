/**
 * The host's side of go-plugin's `plugin.GRPCBroker`: extra gRPC
 * connections between a host and its plugin, named by numeric ids, for
 * callbacks in either direction. Get it as `plugin.broker`.
 *
 * Wire facts (go-plugin's `grpc_broker.go`): the host opens one
 * `plugin.GRPCBroker/StartStream` bidi stream to the plugin; each side sends
 * `ConnInfo{service_id, network, address}` on it to announce a server it
 * listens on for that id, and the other side dials the announced address.
 * Ids are per direction: the host's announcements and the plugin's never
 * collide. A go-plugin plugin waits at most 5 s in `Dial(id)` for an
 * announcement, and announces from `AcceptAndServe(id, …)` only once the
 * host's stream is open.
 *
 * @module
 */
import type { GrpcChannel, ServiceRegistration } from "../transport/transport.ts";

/** Options for {@linkcode PluginBroker.dial}. */
export interface BrokerDialOptions {
  /**
   * How long to wait for the plugin to announce the id, in milliseconds.
   * @default {5000}
   */
  timeoutMs?: number;
  /** Ends the wait. */
  signal?: AbortSignal;
}

/**
 * A server the host runs for its plugin under a broker id. `close()` stops
 * it at once (calls in flight fail) and removes its socket file; it is
 * idempotent and never rejects. The plugin's exit or stop closes it too.
 */
export interface BrokeredServer extends AsyncDisposable {
  /** The broker id it was announced under. */
  readonly id: number;
  /** Its socket path, inside the plugin's socket directory (`broker-<n>.sock`). */
  readonly path: string;
  /** Stops serving and removes the socket file. Idempotent. */
  close(): Promise<void>;
}

/**
 * Brokered connections to and from one plugin; get it as `plugin.broker`.
 * The broker stream is opened on first use and ends with the plugin; then
 * every brokered server and channel is closed and waiting dials fail.
 *
 * @example
 * ```ts ignore
 * // the plugin calls back into a service the host serves
 * const id = plugin.broker.nextId();
 * await using _counter = await plugin.broker.serve(id, [
 *   { service: Counter, implementation: { add: (r) => ({ total: r.delta, servedBy: "host" }) } },
 * ]);
 * await plugin.client(Callbacks).addViaBroker({ brokerId: id, delta: 1, times: 1 });
 *
 * // the host dials a service the plugin announces
 * const { brokerId } = await plugin.client(Callbacks).serveCounter({});
 * await using channel = await plugin.broker.dial(brokerId);
 * await createClient(Counter, channel.transport).add({ delta: 2 });
 * ```
 */
export interface PluginBroker {
  /**
   * A new id for {@linkcode PluginBroker.serve}, unique on this host side
   * (1, 2, 3, … as go-plugin's `NextId`).
   *
   * @returns The id.
   * @example
   * ```ts ignore
   * const id = plugin.broker.nextId();
   * ```
   */
  nextId(): number;
  /**
   * Serves `services` for the plugin under broker `id`: listens on a new
   * socket in the plugin's socket directory (`broker-<n>.sock`, the lowest
   * free slot) and announces it on the broker stream; the plugin reaches it
   * with go-plugin's `broker.Dial(id)` (or the SDK's `broker.dial(id)`).
   * With AutoMTLS the server speaks TLS only, presents the host's
   * certificate and accepts only the plugin's (a go-plugin 1.0.1 plugin
   * cannot dial it then: it trusts only the system's roots, go-plugin#109).
   * A sandboxed Deno plugin can reach at most `brokerSockets` of them at once.
   *
   * @param id The broker id (see {@linkcode PluginBroker.nextId}); the plugin learns it from a call.
   * @param services What to serve.
   * @returns The running server; close it (or let the plugin end) to stop it.
   * @throws {Error} When the plugin is gone, or it is a Deno plugin whose `brokerSockets` are all in use.
   * @example
   * ```ts ignore
   * await using server = await plugin.broker.serve(plugin.broker.nextId(), [
   *   { service: HostLogger, implementation: { log: (r) => ({}) } },
   * ]);
   * ```
   */
  serve(id: number, services: readonly ServiceRegistration[]): Promise<BrokeredServer>;
  /**
   * Dials a server the plugin announced under broker `id` (go-plugin's
   * `broker.AcceptAndServe(id, …)`), waiting for the announcement. The
   * address must be a socket in the plugin's socket directory (not one of
   * the host's own brokered sockets, not a symlink), or loopback tcp when
   * the plugin was started with `allowTcp`. A plugin that leaves more than
   * `maxBrokerAnnouncements` announcements undialed, or announces an
   * address longer than 512 characters, is killed, and this fails saying so. With AutoMTLS the
   * channel uses the same client certificate and pinned server certificate
   * as the plugin's main connection.
   *
   * @param id The broker id, as the plugin told it.
   * @param options How long to wait.
   * @returns A channel to the plugin's server; the caller closes it (the plugin's end closes it too).
   * @throws {Error} When no announcement comes in time, the address is refused, or the plugin is gone.
   * @example
   * ```ts ignore
   * await using channel = await plugin.broker.dial(brokerId);
   * const counter = createClient(Counter, channel.transport);
   * ```
   */
  dial(id: number, options?: BrokerDialOptions): Promise<GrpcChannel>;
}
