/**
 * gRPC multiplexed over one connection, as go-plugin ≥ 1.5 does it when the
 * host sets `PLUGIN_MULTIPLEX_GRPC=true` (its `internal/grpcmux`): the host
 * dials the plugin's socket once and runs a yamux client session on it, the
 * plugin a yamux server session; every gRPC connection either way is one
 * yamux stream, carrying HTTP/2 (Bulkhead's native transport, plaintext:
 * AutoMTLS is not offered over multiplexed streams).
 *
 * Which server a stream the peer opens belongs to is said on the broker
 * stream before it is opened (a knock, see `src/protocol/broker_endpoint.ts`):
 * {@linkcode GrpcMultiplexer.expect} routes the next accepted stream to the
 * server registered for that broker id; a stream not announced so goes to
 * the default server (the plugin's own services), or is refused when there
 * is none (the host). Knock and open are one step per side (a lock), so
 * streams are matched in order, as go-plugin requires.
 *
 * @module
 */
import type {
  DialOptions,
  GrpcChannel,
  GrpcServer,
  ListenOptions,
  ServiceRegistration,
  ShutdownOptions,
  SocketAddress,
} from "./transport.ts";
import { socketAddress } from "./transport.ts";
import { openByteStream } from "./h2/byte_stream.ts";
import { channelOver, serverOver, type StreamServer } from "./h2/native.ts";
import { YamuxSession } from "./yamux/session.ts";

/** Options for a {@linkcode GrpcMultiplexer}. */
export interface MultiplexOptions {
  /** Largest message either way, in bytes. @default {4194304} */
  maxMessageBytes?: number;
  /** Streams open at once over the connection. @default {128} */
  maxStreams?: number;
  /** How many knocks may wait for their stream. @default {16} */
  maxExpected?: number;
}

/** A server registered under a broker id; `close()` is idempotent. */
export interface MultiplexedServer extends AsyncDisposable {
  /** The broker id. */
  readonly id: number;
  /** Stops serving that id; its connections drop. */
  close(): Promise<void>;
}

/**
 * One multiplexed connection between a host and its plugin.
 *
 * @example
 * ```ts ignore
 * // the plugin
 * const mux = GrpcMultiplexer.listen(path, services);
 * // the host
 * const host = await GrpcMultiplexer.dial(path);
 * await using channel = host.channel();
 * ```
 */
export class GrpcMultiplexer {
  #session: Promise<YamuxSession>;
  #options: MultiplexOptions;
  #default: StreamServer | undefined;
  #servers = new Map<number, StreamServer>();
  #expected: number[] = [];
  #lock: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;
  #onClose: () => Promise<void>;

  private constructor(
    session: Promise<YamuxSession>,
    defaultServer: StreamServer | undefined,
    options: MultiplexOptions,
    onClose: () => Promise<void>,
  ) {
    this.#session = session;
    this.#default = defaultServer;
    this.#options = options;
    this.#onClose = onClose;
    void session.then((s) => this.#route(s), () => {});
  }

  /**
   * The host's side: dials `address` once and runs a yamux client session on it.
   *
   * @throws {Error} When the plugin's socket cannot be reached.
   */
  static async dial(
    address: string | SocketAddress,
    options: MultiplexOptions = {},
  ): Promise<GrpcMultiplexer> {
    const bytes = await openByteStream(socketAddress(address));
    const session = new YamuxSession(bytes, {
      role: "client",
      ...(options.maxStreams === undefined ? {} : { maxStreams: options.maxStreams }),
    });
    return new GrpcMultiplexer(Promise.resolve(session), undefined, options, () => session.close());
  }

  /**
   * The plugin's side: listens on `path`, takes the first connection as a
   * yamux server session (later ones are refused) and serves `services` on
   * every stream not announced by a knock.
   */
  static listen(
    path: string,
    services: readonly ServiceRegistration[],
    options: MultiplexOptions = {},
  ): GrpcMultiplexer & GrpcServer {
    const listener = Deno.listen({ transport: "unix", path });
    const session = (async () => {
      const conn = await listener.accept();
      void (async () => {
        for await (const late of listener) late.close(); // one host, one connection
      })().catch(() => {});
      return new YamuxSession(conn, {
        role: "server",
        ...(options.maxStreams === undefined ? {} : { maxStreams: options.maxStreams }),
      });
    })();
    const stop = async () => {
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      const s = await session.catch(() => undefined);
      await s?.close();
      await Deno.remove(path).catch(() => {});
    };
    const mux = new GrpcMultiplexer(session, serverOver(services, limits(options)), options, stop);
    return Object.assign(mux, {
      path,
      shutdown: (shutdown?: ShutdownOptions) => mux.shutdown(shutdown),
      [Symbol.asyncDispose]: () => mux.close(),
    });
  }

  /**
   * A channel whose every connection is a new stream; `before` runs first
   * each time (a knock), under the lock that keeps knock and open together.
   */
  channel(before?: () => Promise<void>, options: DialOptions = {}): GrpcChannel {
    return channelOver(
      () => {
        const step = this.#lock.then(async () => {
          await before?.();
          return (await this.#session).open();
        });
        this.#lock = step.catch(() => {});
        return step;
      },
      "the multiplexed connection",
      { ...limits(this.#options), ...options },
    );
  }

  /** Serves `services` on the streams announced for broker `id`. */
  serve(
    id: number,
    services: readonly ServiceRegistration[],
    options: ListenOptions = {},
  ): MultiplexedServer {
    const server = serverOver(services, { ...limits(this.#options), ...options });
    this.#servers.get(id)?.close();
    this.#servers.set(id, server);
    let closing: Promise<void> | undefined;
    const close = () =>
      closing ??= (async () => {
        if (this.#servers.get(id) === server) this.#servers.delete(id);
        await server.close();
      })();
    return { id, close, [Symbol.asyncDispose]: close };
  }

  /**
   * The peer knocked on `id`: its next stream goes to that id's server.
   *
   * @returns `""`, or why not (no server for the id, too many knocks waiting).
   */
  expect(id: number): string {
    if (!this.#servers.has(id)) return `no server for broker id ${id}`;
    if (this.#expected.length >= (this.#options.maxExpected ?? 16)) {
      return `more than ${this.#options.maxExpected ?? 16} knocks wait for their streams`;
    }
    this.#expected.push(id);
    return "";
  }

  /** GOAWAY on every connection, then closes after calls finish or `graceMs`. */
  async shutdown(options: ShutdownOptions = {}): Promise<void> {
    const servers = [this.#default, ...this.#servers.values()].filter((s) => s !== undefined);
    await Promise.all(servers.map((s) => s.shutdown(options)));
    await this.close();
  }

  /** Closes every server and the connection. Idempotent; never rejects. */
  close(): Promise<void> {
    return this.#closing ??= (async () => {
      const servers = [this.#default, ...this.#servers.values()].filter((s) => s !== undefined);
      this.#servers.clear();
      await Promise.all(servers.map((s) => s.close()));
      await this.#onClose().catch(() => {});
    })();
  }

  async #route(session: YamuxSession): Promise<void> {
    for await (const stream of session) {
      const id = this.#expected.shift();
      const server = id === undefined ? this.#default : this.#servers.get(id);
      if (server === undefined) stream.close();
      else server.accept(stream);
    }
  }
}

function limits(options: MultiplexOptions): ListenOptions & DialOptions {
  const bytes = options.maxMessageBytes;
  return bytes === undefined ? {} : { readMaxBytes: bytes, writeMaxBytes: bytes };
}
