/**
 * go-plugin's `plugin.GRPCBroker` protocol, written once for both ends: the
 * host (a gRPC client of `StartStream`) and the plugin (its server) each
 * wrap a {@linkcode BrokerEndpoint} and add only what differs between them:
 * where brokered sockets go, which announced addresses may be dialed, the
 * TLS of brokered connections, and the words of their errors.
 *
 * Wire facts (go-plugin's `grpc_broker.go`): one `StartStream` bidi stream
 * per plugin; each side sends `ConnInfo{service_id, network, address}` on
 * it to announce a server it listens on for that id, and the other side
 * dials the announced address. Ids are per direction. In go-plugin's
 * multiplexed mode (≥ 1.5) a `ConnInfo` may instead carry a `knock`
 * (`{knock: true}` asks, `{knock: true, ack: true, error}` answers): the
 * next multiplexed stream the knocker opens belongs to that id (see
 * {@linkcode BrokerEndpoint.knock} and {@linkcode BrokerEndpoint.onKnock}).
 * An endpoint that does not multiplex ignores knocks, as a non-multiplexed
 * go-plugin peer never sends one.
 *
 * @module
 */
import { create } from "../npm/protobuf.ts";
import { type ConnInfo, ConnInfoSchema } from "../gen/plugin/grpc_broker_pb.ts";
import type { GrpcChannel, GrpcServer } from "../transport/transport.ts";
import { addressOf, type AnnouncedAddress } from "./broker_sockets.ts";
import { BrokerAbuseError, BrokerAnnouncements } from "./broker_announcements.ts";
import { BrokerResources, type Closable } from "./broker_resources.ts";
import { BrokerKnocks } from "./broker_knocks.ts";

/** Messages that may wait for the peer to read the broker stream. */
const MAX_OUTBOX = 256;

/** A brokered server as either end returns it: closed by `close()`, idempotent, never rejects. */
export interface EndpointServer extends AsyncDisposable {
  /** The broker id it was announced under. */
  readonly id: number;
  /** Its socket path (empty when it is reached through multiplexed streams). */
  readonly path: string;
  /** Stops serving and removes the socket file. Idempotent. */
  close(): Promise<void>;
}

/** How an end listens for one brokered server (see {@linkcode BrokerEndpoint.serve}). */
export interface EndpointListen {
  /** The socket path of slot `slot`. */
  pathFor(slot: number): string;
  /**
   * Listens on `path` (slot `slot`); throws what the caller should see,
   * e.g. that the slot is past the plugin's grant.
   */
  listen(path: string, slot: number): Promise<GrpcServer>;
}

/** How an end dials an announcement (see {@linkcode BrokerEndpoint.dial}). */
export interface EndpointDial {
  /** How long to wait for the announcement, in milliseconds (default 5000). */
  timeoutMs?: number | undefined;
  /** Ends the wait. */
  signal?: AbortSignal | undefined;
  /** The peer in messages, e.g. `plugin "kv"` or `the host`. */
  peer: string;
  /**
   * Checks an announcement and returns the address to dial; throws to
   * refuse it. By default any `unix` or `tcp` address is accepted.
   */
  check?: (info: ConnInfo) => AnnouncedAddress | Promise<AnnouncedAddress>;
  /** Dials the address. */
  dial(address: AnnouncedAddress): GrpcChannel;
}

/**
 * One end of go-plugin's broker: ids, the announcements the peer made and
 * the dials waiting for them (bounded, see `broker_announcements.ts`), what
 * this end announces, and the servers and channels it owns.
 *
 * @example
 * ```ts
 * import { BrokerEndpoint } from "./broker_endpoint.ts";
 * const endpoint = new BrokerEndpoint({ maxAnnouncements: 4 });
 * if (endpoint.nextId() !== 1 || endpoint.nextId() !== 2) throw new Error();
 * await endpoint.close(new Error("Cannot use the broker: it has stopped"));
 * ```
 */
export class BrokerEndpoint {
  #lastId = 0;
  #outbox: ConnInfo[] = [];
  #pokes = new Set<() => void>();
  #stream = 0; // the newest outgoing stream; older ones end
  #announcements: BrokerAnnouncements;
  #owned = new BrokerResources();
  #knocks = new BrokerKnocks((info) => this.send(info));
  #closing: Promise<void> | undefined;

  /**
   * @param options `maxAnnouncements`: how many of the peer's announcements
   *   may wait to be dialed (default 16).
   */
  constructor(options: { maxAnnouncements?: number } = {}) {
    this.#announcements = new BrokerAnnouncements(options.maxAnnouncements);
  }

  /** Why the broker ended, if it did. */
  get ended(): Error | undefined {
    return this.#announcements.ended;
  }

  /**
   * Answers the peer's knocks (go-plugin ≥ 1.5 multiplexing): given the
   * id, returns `""` to accept (the peer's next stream is that id's) or why
   * not. Unset, knocks are ignored.
   */
  set onKnock(answer: ((id: number) => string) | undefined) {
    this.#knocks.answerWith(answer);
  }

  /**
   * Knocks on the peer's brokered server `id` and waits for its ack (at
   * most `timeoutMs`, go-plugin's 5 s); then this end's next multiplexed
   * stream belongs to `id`. Knocks on one id are made one at a time.
   *
   * @throws {Error} When the peer refuses, does not answer in time, or the broker ended.
   */
  async knock(
    id: number,
    options: { timeoutMs?: number | undefined; peer: string },
  ): Promise<void> {
    this.check(id);
    const error = await this.#knocks.knock(id, options.timeoutMs);
    if (this.ended !== undefined) throw this.ended;
    if (error !== "") throw new Error(`Cannot dial broker id ${id} of ${options.peer}: ${error}`);
  }

  /** A new id, unique on this end (1, 2, 3, … as go-plugin's `NextId`). */
  nextId(): number {
    return ++this.#lastId;
  }

  /**
   * Checks that a serve or dial of `id` may go ahead.
   *
   * @throws {RangeError} When `id` is not a uint32.
   * @throws {Error} Why the broker ended, once it did.
   */
  check(id: number): void {
    this.#announcements.check(id);
  }

  /**
   * Listens for brokered server `id` in the lowest free slot and announces
   * it to the peer.
   *
   * @throws {Error} What `listen` threw, or why the broker ended.
   */
  async serve(id: number, how: EndpointListen): Promise<EndpointServer> {
    this.check(id);
    const slot = this.#owned.reserveSlot();
    const path = how.pathFor(slot);
    let server: GrpcServer;
    try {
      server = await how.listen(path, slot);
    } catch (error) {
      this.#owned.releaseSlot(slot);
      throw error;
    }
    const close = this.#owned.addServer(server, slot);
    if (this.ended !== undefined) {
      await close();
      throw this.ended;
    }
    this.send(create(ConnInfoSchema, { serviceId: id, network: "unix", address: path }));
    return { id, path, close, [Symbol.asyncDispose]: close };
  }

  /**
   * Waits for the peer's announcement of `id`, checks it and dials it.
   *
   * @throws {Error} When none comes in time, it is refused, or the broker ended.
   */
  async dial(id: number, how: EndpointDial): Promise<GrpcChannel> {
    how.signal?.throwIfAborted();
    this.check(id);
    const info = await this.#announcements.wait(id, {
      timeoutMs: how.timeoutMs,
      ...(how.signal ? { signal: how.signal } : {}),
      peer: how.peer,
    });
    const address = await (how.check ?? anyAddress(id, how.peer))(info);
    return this.own(how.dial(address));
  }

  /** Owns a channel until it or the broker closes; returns it with an idempotent close. */
  own(channel: GrpcChannel): GrpcChannel {
    const close = this.#owned.addChannel(channel);
    return { transport: channel.transport, close, [Symbol.asyncDispose]: close };
  }

  /** Owns a server until it or the broker closes; returns an idempotent close. */
  ownServer(server: Closable): () => Promise<void> {
    return this.#owned.addServer(server, 0);
  }

  /**
   * Queues `info` for the peer on the broker stream.
   *
   * @throws {BrokerAbuseError} When more than 256 messages wait: the peer
   *   does not read its side while it knocks (each knock is answered).
   */
  send(info: ConnInfo): void {
    if (this.#outbox.length >= MAX_OUTBOX) {
      throw new BrokerAbuseError(
        `left more than ${MAX_OUTBOX} broker messages unread while sending more`,
      );
    }
    this.#outbox.push(info);
    this.#poke();
  }

  /**
   * Reads the peer's side of the broker stream until it ends: records
   * announcements, answers knocks (see {@linkcode BrokerEndpoint.onKnock}) and takes acks.
   *
   * @throws {BrokerAbuseError} When the peer breaks the stream's bounds; the broker has ended then.
   * @throws {Error} What reading the stream threw.
   */
  async receive(incoming: AsyncIterable<ConnInfo>): Promise<void> {
    for await (const info of incoming) {
      if (this.#knocks.take(info)) continue;
      this.#announcements.announce(info);
    }
  }

  /**
   * What this end sends on the broker stream, until the broker ends,
   * `signal` aborts, or a newer stream starts (a plugin serves only the
   * newest `StartStream` call).
   */
  async *outgoing(signal: AbortSignal): AsyncGenerator<ConnInfo> {
    const stream = ++this.#stream;
    this.#poke(); // an older stream ends
    const onAbort = () => this.#poke();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      while (!signal.aborted && stream === this.#stream && this.ended === undefined) {
        const next = this.#outbox.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => this.#pokes.add(resolve));
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Ends the broker with `error` (the first one given): waiting dials fail, the stream ends. */
  end(error: Error): void {
    this.#end(error);
  }

  /** Ends the broker with `error` and closes every brokered server and channel. Idempotent. */
  close(error: Error): Promise<void> {
    return this.#closing ??= (async () => {
      this.#end(error);
      await this.#owned.closeAll();
    })();
  }

  #end(error: Error): void {
    this.#announcements.end(error);
    this.#knocks.end("the broker ended");
    this.#poke();
  }

  #poke(): void {
    const pokes = [...this.#pokes];
    this.#pokes.clear();
    for (const poke of pokes) poke();
  }
}

function anyAddress(id: number, peer: string): (info: ConnInfo) => AnnouncedAddress {
  return (info) => {
    if (info.network !== "unix" && info.network !== "tcp") {
      throw new Error(
        `Cannot dial broker id ${id} of ${peer}: network "${info.network}" is not supported (${info.address})`,
      );
    }
    return addressOf(info.network, info.address);
  };
}
