/**
 * gRPC on Deno's `node:http2` through Connect-RPC's Node adapter.
 *
 * Known defect: when a server sends GOAWAY, Deno's `node:http2` client can
 * crash the whole process (denoland/deno#36788). Bulkhead's own stop path
 * closes the client session before the plugin closes its server, and the SDK
 * never sends GOAWAY on a host-initiated stop.
 *
 * @module
 */
import * as http2 from "node:http2";
import * as net from "node:net";
import { settledWithin } from "../_timing.ts";
import type { DescService } from "../npm/protobuf.ts";
import type { ServiceImpl } from "../npm/connect.ts";
import {
  connectNodeAdapter,
  createGrpcTransport,
  Http2SessionManager,
} from "../npm/connect_node.ts";
import type {
  DialOptions,
  GrpcChannel,
  GrpcConnector,
  GrpcServer,
  ListenOptions,
  ServiceRegistration,
  ShutdownOptions,
  SocketAddress,
} from "./transport.ts";
import { DEFAULT_SHUTDOWN_GRACE_MS, maxMessageBytes, socketAddress } from "./transport.ts";
import { pinnedTlsSocket } from "./pinned_tls.ts";

function connect(address: SocketAddress, options: DialOptions): net.Socket {
  // with TLS, http2 waits for the handshake; a certificate other than the
  // pinned one destroys the socket before the connection preface is sent
  if (options.tls !== undefined) return pinnedTlsSocket(address, options.tls);
  return address.network === "unix"
    ? net.connect(address.path)
    : net.connect({ host: address.hostname, port: address.port });
}

function dial(target: string | SocketAddress, options: DialOptions = {}): GrpcChannel {
  const address = socketAddress(target);
  const baseUrl = "http://localhost";
  const manager = new Http2SessionManager(baseUrl, {
    // above 2^31 - 1 connect-node sets no idle timer at all (a live plugin
    // connection should not be closed for being idle)
    idleConnectionTimeoutMs: 2 ** 31,
  }, {
    createConnection: () => connect(address, options),
  });
  const transport = createGrpcTransport({
    baseUrl,
    sessionManager: manager,
    readMaxBytes: maxMessageBytes(options.readMaxBytes),
    writeMaxBytes: maxMessageBytes(options.writeMaxBytes),
  });
  let closed = false;
  const close = (): Promise<void> => {
    if (!closed) {
      closed = true;
      manager.abort();
    }
    return Promise.resolve();
  };
  return { transport, close, [Symbol.asyncDispose]: close };
}

async function listen(
  path: string,
  services: readonly ServiceRegistration[],
  options: ListenOptions = {},
): Promise<GrpcServer> {
  if (options.tls !== undefined) {
    throw new TypeError("Cannot listen with TLS on the node-http2 transport: use the native one");
  }
  const settings: http2.Settings = {
    maxConcurrentStreams: options.maxConcurrentStreams ?? 1000,
    maxHeaderListSize: options.maxHeaderListSize ?? 65536,
  };
  const server = http2.createServer(
    { settings },
    connectNodeAdapter({
      routes: (r) => {
        for (const { service, implementation } of services) {
          r.service(service, implementation as Partial<ServiceImpl<DescService>>);
        }
      },
      grpc: true,
      grpcWeb: false,
      connect: false,
      readMaxBytes: maxMessageBytes(options.readMaxBytes),
      writeMaxBytes: maxMessageBytes(options.writeMaxBytes),
    }),
  );
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    session.on("error", () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const serverClosed = new Promise<void>((resolve) => server.once("close", () => resolve()));
  let closing: Promise<void> | undefined;
  let shuttingDown: Promise<void> | undefined;
  const close = (): Promise<void> =>
    closing ??= (async () => {
      server.close();
      for (const session of sessions) session.destroy();
      await serverClosed;
    })();
  const shutdown = (shutdownOptions: ShutdownOptions = {}): Promise<void> =>
    shuttingDown ??= closing ?? (async () => {
      server.close();
      for (const session of sessions) session.close();
      await settledWithin(serverClosed, shutdownOptions.graceMs ?? DEFAULT_SHUTDOWN_GRACE_MS);
      for (const session of sessions) session.destroy();
      await serverClosed;
    })();
  return { path, close, shutdown, [Symbol.asyncDispose]: close };
}

/** Connect-RPC on `node:http2`, dialing and listening on Unix sockets. */
export const nodeHttp2Connector: GrpcConnector = { kind: "node-http2", dial, listen };
