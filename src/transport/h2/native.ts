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
import { settledWithin } from "../../_timing.ts";

class Channel implements ConnectionProvider {
  #open: () => Promise<ByteStream>;
  #label: string;
  #outputLimits: OutputLimits;
  #current: Connection | undefined;
  #dialing: Promise<Connection> | undefined;
  #all = new Set<Connection>();
  #closed = false;

  constructor(open: () => Promise<ByteStream>, label: string, outputLimits: OutputLimits) {
    this.#open = open;
    this.#label = label;
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
      socket = await this.#open() as Deno.Conn;
    } catch (error) {
      throw new ConnectError(
        `Cannot connect to ${this.#label}: ${(error as Error).message}`,
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
  const target = socketAddress(address);
  return channelOver(
    () => openByteStream(target, options.tls),
    describeAddress(target),
    options,
  );
}

/**
 * A gRPC channel whose connections are the byte streams `open` returns
 * (a socket, or a multiplexed stream), one per connection: a connection
 * that dies is replaced by calling `open` again on the next call.
 *
 * @param open Makes the next connection's bytes.
 * @param label Names the peer in errors.
 * @param options Message limits and codec (`tls` is ignored: `open` owns the bytes).
 * @returns The channel.
 * @example
 * ```ts ignore
 * await using channel = channelOver(async () => session.open(), "the plugin's yamux session");
 * ```
 */
export function channelOver(
  open: () => Promise<ByteStream>,
  label: string,
  options: DialOptions = {},
): GrpcChannel {
  const readMaxBytes = maxMessageBytes(options.readMaxBytes);
  const writeMaxBytes = maxMessageBytes(options.writeMaxBytes);
  const limits = outputLimitsFor(Math.max(readMaxBytes, writeMaxBytes));
  const channel = new Channel(open, label, limits);
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
  const server = serverOver(services, options);
  const listener = await acceptor(path, options);
  let stopped = false;
  const accepting = (async () => {
    try {
      for await (const socket of listener) {
        if (stopped) socket.close();
        else server.accept(socket);
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
      await server.close();
      await shuttingDown;
    })();
  const shutdown = (shutdownOptions: ShutdownOptions = {}): Promise<void> =>
    shuttingDown ??= closing ?? (async () => {
      const stopping = stopListening(); // Closes the listener at once.
      const draining = server.shutdown(shutdownOptions); // GOAWAY now
      await stopping; // The socket file is gone once GOAWAY is on its way.
      await draining;
    })();
  return { path, close, shutdown, [Symbol.asyncDispose]: close };
}

/** Serves gRPC on byte streams handed to it: see {@linkcode serverOver}. */
export interface StreamServer {
  /** Serves one connection on `socket` (which it owns from now on). */
  accept(socket: ByteStream): void;
  /** Sends GOAWAY on every connection. */
  goaway(): void;
  /** GOAWAY, then closes once calls finish or `graceMs` passes. */
  shutdown(options?: ShutdownOptions): Promise<void>;
  /** Drops every connection now. Idempotent. */
  close(): Promise<void>;
}

/**
 * A gRPC server without a listener: each byte stream given to `accept`
 * (an accepted socket, or a multiplexed stream) is one HTTP/2 connection.
 *
 * @param services What to serve.
 * @param options Limits and codec (`tls` is ignored: the caller owns the bytes).
 * @returns The server.
 * @example
 * ```ts ignore
 * const server = serverOver(services);
 * for await (const stream of session) server.accept(stream);
 * ```
 */
export function serverOver(
  services: readonly ServiceRegistration[],
  options: ListenOptions = {},
): StreamServer {
  const readMaxBytes = maxMessageBytes(options.readMaxBytes);
  const writeMaxBytes = maxMessageBytes(options.writeMaxBytes);
  const dispatcher = new GrpcDispatcher(services, {
    readMaxBytes,
    writeMaxBytes,
    codec: codecFor(options.codec),
  });
  const outputLimits = outputLimitsFor(Math.max(readMaxBytes, writeMaxBytes));
  const conns = new Set<Connection>();
  let closed = false;
  const accept = (socket: ByteStream): void => {
    if (closed) {
      socket.close();
      return;
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
      onStream: (stream, fields, endStream) => dispatcher.handle(conn, stream, fields, endStream),
    });
    conns.add(conn);
    void conn.closed.then(() => conns.delete(conn));
    conn.start();
  };
  const close = async (): Promise<void> => {
    closed = true;
    await Promise.all([...conns].map((conn) => conn.close()));
  };
  const goaway = (): void => {
    for (const conn of conns) conn.goaway();
  };
  const shutdown = async (shutdownOptions: ShutdownOptions = {}): Promise<void> => {
    closed = true;
    goaway();
    await settledWithin(
      Promise.all([...conns].map((conn) => conn.closed)),
      shutdownOptions.graceMs ?? DEFAULT_SHUTDOWN_GRACE_MS,
    );
    await close();
  };
  return { accept, goaway, shutdown, close };
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
