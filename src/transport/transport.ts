/**
 * The one interface between Bulkhead and the bytes on a Unix socket.
 *
 * Everything outside `src/transport/` sees gRPC through this file only: a
 * {@linkcode GrpcChannel} gives a Connect-RPC `Transport` for typed clients,
 * a {@linkcode GrpcServer} serves Connect service implementations. Which
 * HTTP/2 implementation carries them is chosen by {@linkcode TransportKind}.
 *
 * @module
 */
import type { DescService } from "../npm/protobuf.ts";
import type { Transport } from "../npm/connect.ts";

/**
 * Names an HTTP/2 implementation. `"node-http2"` is Connect on Deno's
 * `node:http2`; `"native"` is Bulkhead's own HTTP/2 on Deno Unix sockets.
 */
export type TransportKind = "node-http2" | "native";

/** The largest gRPC message either way, in bytes, when none is configured (gRPC's usual 4 MiB). */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * A message limit as configured, with the default applied: the one place
 * the default of every `maxMessageBytes`, `readMaxBytes` and
 * `writeMaxBytes` is applied.
 *
 * @param bytes The configured limit, if any.
 * @returns The limit in bytes.
 * @example
 * ```ts
 * import { maxMessageBytes } from "./transport.ts";
 * console.log(maxMessageBytes(undefined)); // 4194304
 * ```
 */
export function maxMessageBytes(bytes: number | undefined): number {
  return bytes ?? DEFAULT_MAX_MESSAGE_BYTES;
}

/** The transport used when none is named. */
export const DEFAULT_TRANSPORT: TransportKind = "native";

/** One service and its implementation, as Connect defines them. */
export interface ServiceRegistration {
  /** The generated service descriptor. */
  service: DescService;
  /**
   * The implementation, a `Partial<ServiceImpl<typeof service>>`; methods it
   * lacks answer `UNIMPLEMENTED`. (Typed loosely so registrations of
   * different services fit in one list; `service()` in the SDK checks it.)
   */
  implementation: object;
}

/**
 * Where a gRPC server listens: a Unix socket path, or a TCP address (the
 * host dials TCP only on loopback; `src/host/handshake.ts` checks that).
 * A bare string given to {@linkcode GrpcConnector.dial} is a Unix socket path.
 */
export type SocketAddress =
  | { network: "unix"; path: string }
  | { network: "tcp"; hostname: string; port: number };

/**
 * Mutual TLS for a dialed connection, as go-plugin's AutoMTLS does it: the
 * client presents its certificate, and the server's certificate must be
 * exactly `serverCertificate` (pinned, byte for byte). Nothing else is
 * verified: go-plugin's certificates are self-signed CA certificates used as
 * end-entity certificates, which ordinary chain validation refuses.
 */
export interface DialTls {
  /** The client certificate, PEM. */
  certificate: string;
  /** The client certificate's private key, PEM (PKCS #8). */
  privateKey: string;
  /** The DER of the only server certificate accepted. */
  serverCertificate: Uint8Array;
}

/**
 * A dial reached the server, but its TLS did not check out: the handshake
 * failed (e.g. the server speaks no TLS, or refused our certificate), or the
 * server presented a certificate other than the pinned one. Dialing again
 * gets the same answer; a channel's calls fail with `UNAVAILABLE` whose
 * `cause` is this error.
 */
export class TlsPeerError extends Error {
  /**
   * @param message What went wrong.
   * @param options The underlying TLS error as `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TlsPeerError";
  }
}

/** Options for {@linkcode GrpcConnector.dial}. */
export interface DialOptions {
  /**
   * Mutual TLS with a pinned server certificate; plaintext HTTP/2 (h2c)
   * when absent.
   */
  tls?: DialTls;
  /**
   * Largest message accepted from the server, in bytes.
   * @default {4194304}
   */
  readMaxBytes?: number;
  /**
   * Largest message sent to the server, in bytes.
   * @default {4194304}
   */
  writeMaxBytes?: number;
  /**
   * How messages become bytes and back (native transport only):
   * `"compiled"` encodes and decodes them with functions built per message
   * type from its descriptor, leaving to protobuf-es only what those do not
   * cover (proto2 and editions files, wrapper-typed fields, values
   * protobuf-es would reject); `"protobuf-es"` uses its `toBinary` and
   * `fromBinary` for everything. Both write the same bytes and read the
   * same messages.
   * @default {"compiled"}
   */
  codec?: "compiled" | "protobuf-es";
}

/** Options for {@linkcode GrpcConnector.listen}. */
export interface ListenOptions {
  /**
   * Largest message accepted from a client, in bytes.
   * @default {4194304}
   */
  readMaxBytes?: number;
  /**
   * Largest message sent to a client, in bytes.
   * @default {4194304}
   */
  writeMaxBytes?: number;
  /**
   * How messages become bytes and back (native transport only):
   * `"compiled"` encodes and decodes them with functions built per message
   * type from its descriptor, leaving to protobuf-es only what those do not
   * cover (proto2 and editions files, wrapper-typed fields, values
   * protobuf-es would reject); `"protobuf-es"` uses its `toBinary` and
   * `fromBinary` for everything. Both write the same bytes and read the
   * same messages.
   * @default {"compiled"}
   */
  codec?: "compiled" | "protobuf-es";
  /**
   * Calls one client connection may have open at once
   * (SETTINGS_MAX_CONCURRENT_STREAMS, advertised and enforced: streams past
   * it are refused and the client retries them).
   * @default {1000}
   */
  maxConcurrentStreams?: number;
  /**
   * Largest request header list accepted, in bytes as HTTP/2 counts them
   * (SETTINGS_MAX_HEADER_LIST_SIZE, advertised and enforced: larger ones
   * fail with RESOURCE_EXHAUSTED).
   * @default {65536}
   */
  maxHeaderListSize?: number;
  /**
   * Mutual TLS accepting exactly one client certificate (go-plugin's
   * AutoMTLS, plugin side; native transport only); plaintext HTTP/2 (h2c)
   * when absent.
   */
  tls?: ListenTls;
}

/** A server's side of mutual TLS with a pinned client certificate. */
export interface ListenTls {
  /** The server certificate, PEM. */
  certificate: string;
  /** The server certificate's private key, PEM (PKCS #8). */
  privateKey: string;
  /** The DER of the only client certificate accepted. */
  clientCertificate: Uint8Array;
}

/** Options for {@linkcode GrpcServer.shutdown}. */
export interface ShutdownOptions {
  /**
   * How long calls in flight may take to finish, in milliseconds; then the
   * server closes as `close()` does and their handlers' signals abort.
   * @default {5000}
   */
  graceMs?: number;
}

/** The grace period of {@linkcode GrpcServer.shutdown} when none is given. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 5000;

/**
 * A client connection to one gRPC server on a socket. The connection
 * is made on the first call. `close()` tears it down at once: calls in
 * flight fail with `UNAVAILABLE` or `CANCELED`; it is idempotent.
 */
export interface GrpcChannel extends AsyncDisposable {
  /** A Connect-RPC transport for `createClient(Service, channel.transport)`. */
  readonly transport: Transport;
  /** Closes the connection now, without waiting for calls in flight. Idempotent. */
  close(): Promise<void>;
}

/**
 * A gRPC server listening on a Unix socket. `close()` stops listening and
 * drops every connection without a GOAWAY; `shutdown()` sends GOAWAY, lets
 * calls in flight finish for a grace period, then closes. Both are
 * idempotent (a second `shutdown()` returns the first one's promise and
 * ignores its options; `close()` during a shutdown ends it at once); both
 * remove the socket file, neither its directory, which belongs to whoever
 * made it. Neither rejects.
 */
export interface GrpcServer extends AsyncDisposable {
  /** The socket path the server listens on. */
  readonly path: string;
  /** Stops now: connections dropped (node-http2 may still send a GOAWAY first). */
  close(): Promise<void>;
  /**
   * Stops gracefully: GOAWAY to every client, then close once calls finish
   * or `graceMs` passes, whichever is first (a never-ending stream such as
   * `plugin.GRPCStdio/StreamStdio` is cut off then).
   */
  shutdown(options?: ShutdownOptions): Promise<void>;
}

/**
 * An HTTP/2 implementation that can dial gRPC on Unix sockets and TCP, and
 * serve it on Unix sockets.
 */
export interface GrpcConnector {
  /** Which implementation this is. */
  readonly kind: TransportKind;
  /**
   * Makes a channel to the server listening at `address` (a string is a Unix
   * socket path). Nothing is dialed until the first call.
   */
  dial(address: string | SocketAddress, options?: DialOptions): GrpcChannel;
  /** Listens at `path` and serves `services` until closed. */
  listen(
    path: string,
    services: readonly ServiceRegistration[],
    options?: ListenOptions,
  ): Promise<GrpcServer>;
}

/**
 * Normalizes a dial target: a string is a Unix socket path.
 *
 * @param address What `dial` was given.
 * @returns The address.
 * @example
 * ```ts
 * import { socketAddress } from "./transport.ts";
 * const a = socketAddress("/tmp/x/plugin.sock");
 * if (a.network !== "unix" || a.path !== "/tmp/x/plugin.sock") throw new Error();
 * ```
 */
export function socketAddress(address: string | SocketAddress): SocketAddress {
  return typeof address === "string" ? { network: "unix", path: address } : address;
}

/**
 * Describes an address for messages: the path, or `host:port`.
 *
 * @param address The address.
 * @returns The description.
 * @example
 * ```ts
 * import { describeAddress } from "./transport.ts";
 * if (describeAddress({ network: "tcp", hostname: "::1", port: 80 }) !== "[::1]:80") throw new Error();
 * ```
 */
export function describeAddress(address: SocketAddress): string {
  if (address.network === "unix") return address.path;
  const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
  return `${host}:${address.port}`;
}
