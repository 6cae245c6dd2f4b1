/**
 * TLS connections for go-plugin's AutoMTLS: a client presents its
 * certificate and accepts exactly one pinned server certificate; a server
 * (a plugin, or a host's brokered server) presents its certificate and
 * accepts exactly one pinned client certificate, its peer's.
 *
 * Why `node:tls` and not `Deno.connectTls`: go-plugin's certificates are
 * self-signed with `IsCA` set and used as end-entity certificates, which
 * Deno's verifier (rustls/webpki) refuses (`CaUsedAsEndEntity`) even when the
 * certificate is its own trust anchor. `node:tls` with `rejectUnauthorized:
 * false` completes the handshake (still checking the server's signature over
 * it), and the host then compares the certificate the server presented with
 * the one its handshake line announced, byte for byte, before a single
 * HTTP/2 byte is sent. That pin is a stronger check than chain validation
 * against a one-certificate trust store would be.
 *
 * @module
 */
import * as tls from "node:tls";
import type { DialTls, ListenTls, SocketAddress } from "./transport.ts";
import { describeAddress, TlsPeerError } from "./transport.ts";

/** The event a socket from {@linkcode pinnedTlsSocket} emits once its pin matched. */
export const PINNED = "bulkhead:pinned";

/**
 * Starts a TLS connection that destroys itself with a
 * {@linkcode TlsPeerError}, right after the handshake, when the server's
 * certificate is not the pinned one; it emits {@linkcode PINNED} once the
 * pin has been checked.
 *
 * @param address Where the server listens.
 * @param options The client certificate and the pinned server certificate.
 * @returns The socket, connecting (owned by the caller).
 */
export function pinnedTlsSocket(address: SocketAddress, options: DialTls): tls.TLSSocket {
  const where = address.network === "unix"
    ? { path: address.path }
    : { host: address.hostname, port: address.port };
  const socket = tls.connect({
    ...where,
    cert: options.certificate,
    key: options.privateKey,
    // go-plugin's certificates name "localhost"
    servername: "localhost",
    ALPNProtocols: ["h2"],
    minVersion: "TLSv1.2",
    // verified below by pinning (see the module documentation)
    rejectUnauthorized: false,
  } as tls.ConnectionOptions);
  socket.once("secureConnect", () => {
    const raw = socket.getPeerCertificate(true)?.raw as Uint8Array | undefined;
    if (raw === undefined || !sameBytes(raw, options.serverCertificate)) {
      socket.destroy(
        new TlsPeerError(
          `Cannot connect to ${
            describeAddress(address)
          } with TLS: the server presented a certificate other than the one it announced`,
        ),
      );
    } else socket.emit(PINNED);
  });
  return socket;
}

/**
 * Connects with TLS and checks the pin.
 *
 * @param address Where the server listens.
 * @param options The client certificate and the pinned server certificate.
 * @returns The secured socket (owned by the caller), once its certificate matched the pin.
 * @throws {TlsPeerError} When the server was reached but the TLS handshake failed, or it presented another certificate.
 * @throws {Error} When the connection fails.
 */
export function connectPinnedTls(
  address: SocketAddress,
  options: DialTls,
): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = pinnedTlsSocket(address, options);
    let reached = false; // the socket connected: what fails now is TLS
    socket.once("connect", () => reached = true);
    const fail = (error: Error) => {
      socket.destroy();
      reject(
        reached && !(error instanceof TlsPeerError)
          ? new TlsPeerError(
            `Cannot connect to ${describeAddress(address)} with TLS: ${error.message}`,
            { cause: error },
          )
          : error,
      );
    };
    socket.once("error", fail);
    socket.once(PINNED, () => {
      socket.off("error", fail);
      resolve(socket);
    });
  });
}

/** A TLS server on a Unix socket whose connections all presented the pinned client certificate. */
export interface PinnedTlsListener extends AsyncIterable<tls.TLSSocket> {
  /** Stops accepting; the iteration ends. Idempotent. */
  close(): void;
}

/**
 * Listens with TLS on a Unix socket. Each connection must present the pinned
 * client certificate (and prove it holds its key, which the TLS handshake
 * checks); others are dropped right after the handshake, before a single
 * HTTP/2 byte is read.
 *
 * @param path The socket path.
 * @param options The server certificate and the pinned client certificate.
 * @returns The listener, once listening.
 * @throws {Error} When it cannot listen there.
 */
export function listenPinnedTls(path: string, options: ListenTls): Promise<PinnedTlsListener> {
  const queue: tls.TLSSocket[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const server = tls.createServer({
    cert: options.certificate,
    key: options.privateKey,
    requestCert: true,
    // verified below by pinning (see the module documentation)
    rejectUnauthorized: false,
    ALPNProtocols: ["h2"],
    minVersion: "TLSv1.2",
  }, (socket) => {
    const raw = socket.getPeerCertificate(true)?.raw as Uint8Array | undefined;
    if (closed || raw === undefined || !sameBytes(raw, options.clientCertificate)) {
      socket.destroy();
      return;
    }
    queue.push(socket);
    notify();
  });
  server.on("tlsClientError", () => {}); // a client that failed its handshake: nothing to serve
  const listener: PinnedTlsListener = {
    close() {
      if (closed) return;
      closed = true;
      server.close();
      for (const socket of queue.splice(0)) socket.destroy();
      notify();
    },
    async *[Symbol.asyncIterator]() {
      while (true) {
        while (queue.length === 0 && !closed) await new Promise<void>((r) => wake = r);
        if (closed) return;
        yield queue.shift()!;
      }
    },
  };
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve(listener);
    });
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
