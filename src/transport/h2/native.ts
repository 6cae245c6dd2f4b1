/**
 * Bulkhead's own gRPC transport: HTTP/2 written here, on Deno sockets
 * (`Deno.connect` / `Deno.listen`), exposed as a {@linkcode GrpcConnector}.
 * It dials Unix sockets and TCP, plaintext or with AutoMTLS (TLS from
 * `node:tls`, see `../pinned_tls.ts`), and listens on Unix sockets, plaintext
 * or with AutoMTLS.
 *
 * A channel dials lazily on its first call and dials again on the next call
 * after its connection died or received GOAWAY. `close()` tears everything
 * down at once (calls in flight fail with CANCELED). A server's `close()`
 * drops connections without GOAWAY (their calls see UNAVAILABLE and their
 * handlers' signals abort); `shutdown()` sends GOAWAY, lets calls in flight
 * finish within its grace period, then closes. Both remove the socket file, not its directory.
 *
 * @module
 */
import { Code, ConnectError } from "../../npm/connect.ts";
import type {
  DialOptions,
  DialTls,
  GrpcChannel,
  GrpcConnector,
  GrpcServer,
  ListenOptions,
  ServiceRegistration,
  ShutdownOptions,
  SocketAddress,
} from "../transport.ts";
import {
  DEFAULT_SHUTDOWN_GRACE_MS,
  describeAddress,
  maxMessageBytes,
  socketAddress,
} from "../transport.ts";
import { type ByteStream, NodeSocketStream, openByteStream } from "./byte_stream.ts";
import { type ConnectionProvider, createH2Transport } from "./client.ts";
import { codecFor } from "./codec.ts";
import { Connection } from "./connection.ts";
import { type OutputLimits, outputLimitsFor } from "./writer.ts";
import { GrpcDispatcher } from "./server.ts";

class Channel implements ConnectionProvider {
  #address: SocketAddress;
  #tls: DialTls | undefined;
  #outputLimits: OutputLimits;
  #current: Connection | undefined;
  #dialing: Promise<Connection> | undefined;
  #all = new Set<Connection>();
  #closed = false;

  constructor(address: SocketAddress, tls: DialTls | undefined, outputLimits: OutputLimits) {
    this.#address = address;
    this.#tls = tls;
    this.#outputLimits = outputLimits;
  }

  current(): Connection | undefined {
    const conn = this.#current;
    return conn !== undefined && conn.accepting ? conn : undefined;
  }

  connect(): Promise<Connection> {
    if (this.#closed) {
      return Promise.reject(new ConnectError("Cannot call: the channel is closed", Code.Canceled));
    }
    return this.#dialing ??= this.#dial().finally(() => this.#dialing = undefined);
  }

  async #dial(): Promise<Connection> {
    // Connection asks only read, write and close of its socket (ByteStream)
    let socket: Deno.Conn;
    try {
      socket = await openByteStream(this.#address, this.#tls) as Deno.Conn;
    } catch (error) {
      throw new ConnectError(
        `Cannot connect to ${describeAddress(this.#address)}: ${(error as Error).message}`,
        Code.Unavailable,
        undefined,
        undefined,
        error,
      );
    }
    if (this.#closed) {
      socket.close();
      throw new ConnectError("Cannot call: the channel is closed", Code.Canceled);
    }
    const conn = new Connection(socket, { role: "client", outputLimits: this.#outputLimits });
    this.#all.add(conn);
    conn.onDrain = () => {
      if (this.#current === conn) this.#current = undefined;
    };
    void conn.closed.then(() => this.#all.delete(conn));
    conn.start();
    this.#current = conn;
    return conn;
  }

  async close(): Promise<void> {
    // a dial in flight closes its own socket when it completes (a TLS peer
    // may never finish its handshake: the close does not wait for it)
    this.#closed = true;
    this.#current = undefined;
    const error = new ConnectError("The channel was closed", Code.Canceled);
    await Promise.all([...this.#all].map((conn) => conn.close(error)));
  }
}

function dial(address: string | SocketAddress, options: DialOptions = {}): GrpcChannel {
  const readMaxBytes = maxMessageBytes(options.readMaxBytes);
  const writeMaxBytes = maxMessageBytes(options.writeMaxBytes);
  const limits = outputLimitsFor(Math.max(readMaxBytes, writeMaxBytes));
  const channel = new Channel(socketAddress(address), options.tls, limits);
  const transport = createH2Transport(channel, {
    readMaxBytes,
    writeMaxBytes,
    codec: codecFor(options.codec),
  });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => closing ??= channel.close();
  return { transport, close, [Symbol.asyncDispose]: close };
}

/** Accepted sockets: plain Unix sockets, or TLS ones that presented the pinned certificate. */
async function acceptor(
  path: string,
  options: ListenOptions,
): Promise<AsyncIterable<ByteStream> & { close(): void }> {
  if (options.tls === undefined) return Deno.listen({ transport: "unix", path });
  // loaded on demand: node:tls costs ~8 MB of RSS and time at start
  const { listenPinnedTls } = await import("../pinned_tls.ts");
  const listener = await listenPinnedTls(path, options.tls);
  return {
    close: () => listener.close(),
    async *[Symbol.asyncIterator]() {
      for await (const socket of listener) yield new NodeSocketStream(socket);
    },
  };
}

async function listen(
  path: string,
  services: readonly ServiceRegistration[],
  options: ListenOptions = {},
): Promise<GrpcServer> {
  const readMaxBytes = maxMessageBytes(options.readMaxBytes);
  const writeMaxBytes = maxMessageBytes(options.writeMaxBytes);
  const dispatcher = new GrpcDispatcher(services, {
    readMaxBytes,
    writeMaxBytes,
    codec: codecFor(options.codec),
  });
  const outputLimits = outputLimitsFor(Math.max(readMaxBytes, writeMaxBytes));
  const listener = await acceptor(path, options);
  const conns = new Set<Connection>();
  let stopped = false;
  const accepting = (async () => {
    try {
      for await (const socket of listener) {
        if (stopped) {
          socket.close();
          continue;
        }
        const conn: Connection = new Connection(socket as Deno.Conn, {
          role: "server",
          outputLimits,
          ...(options.maxConcurrentStreams === undefined
            ? {}
            : { maxConcurrentStreams: options.maxConcurrentStreams }),
          ...(options.maxHeaderListSize === undefined
            ? {}
            : { maxHeaderListSize: options.maxHeaderListSize }),
          onStream: (stream, fields, endStream) =>
            dispatcher.handle(conn, stream, fields, endStream),
        });
        conns.add(conn);
        void conn.closed.then(() => conns.delete(conn));
        conn.start();
      }
    } catch {
      // The listener was closed.
    }
  })();
  const stopListening = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      listener.close();
    } catch {
      // Already closed.
    }
    await accepting;
    await Deno.remove(path).catch(() => {});
  };
  let closing: Promise<void> | undefined;
  let shuttingDown: Promise<void> | undefined;
  const close = (): Promise<void> =>
    closing ??= (async () => {
      await stopListening();
      await Promise.all([...conns].map((conn) => conn.close()));
      await shuttingDown;
    })();
  const shutdown = (shutdownOptions: ShutdownOptions = {}): Promise<void> =>
    shuttingDown ??= closing ?? (async () => {
      const stopping = stopListening(); // Closes the listener at once.
      for (const conn of conns) conn.goaway();
      await stopping; // The socket file is gone once GOAWAY is on its way.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, shutdownOptions.graceMs ?? DEFAULT_SHUTDOWN_GRACE_MS);
      });
      await Promise.race([Promise.all([...conns].map((conn) => conn.closed)), grace]);
      clearTimeout(timer);
      await Promise.all([...conns].map((conn) => conn.close()));
    })();
  return { path, close, shutdown, [Symbol.asyncDispose]: close };
}

/**
 * Bulkhead's own HTTP/2 gRPC transport on Deno sockets.
 *
 * @example
 * ```ts ignore
 * import { nativeConnector } from "./native.ts";
 * await using channel = nativeConnector.dial("/tmp/x/plugin.sock");
 * ```
 */
export const nativeConnector: GrpcConnector = { kind: "native", dial, listen };
