/**
 * TLS client connections for go-plugin's AutoMTLS: present a client
 * certificate, accept exactly one pinned server certificate.
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
import type { DialTls, SocketAddress } from "./transport.ts";
import { describeAddress } from "./transport.ts";

/** The event a socket from {@linkcode pinnedTlsSocket} emits once its pin matched. */
export const PINNED = "bulkhead:pinned";

/**
 * Starts a TLS connection that destroys itself with an error, right after
 * the handshake, when the server's certificate is not the pinned one; it
 * emits {@linkcode PINNED} once the pin has been checked.
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
        new Error(
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
 * @throws {Error} When the connection or the handshake fails, or the server presented another certificate.
 */
export function connectPinnedTls(
  address: SocketAddress,
  options: DialTls,
): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = pinnedTlsSocket(address, options);
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.once("error", fail);
    socket.once(PINNED, () => {
      socket.off("error", fail);
      resolve(socket);
    });
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
