/**
 * Where and how the host dials a plugin after its handshake: the address it
 * announced (a Unix socket, or loopback tcp `host:port`), and, with
 * AutoMTLS, the certificate to pin. Internal to `src/host/`.
 *
 * @module
 */
import type { DialTls } from "../transport/transport.ts";
import { type CertifiedKey, decodeServerCert } from "../protocol/auto_mtls.ts";
import { HandshakeError } from "./errors.ts";
import type { Handshake } from "./handshake.ts";

/** The address of an accepted handshake or of a broker `ConnInfo` (shared with the SDK). */
export { addressOf } from "../protocol/broker_sockets.ts";

/**
 * Whether an announced Unix socket path (a handshake's, a broker
 * announcement's) holds something other than a socket. A plugin that plants
 * a symlink there could have the host dial, on its behalf, any socket the
 * host may reach (another plugin's, a daemon's). A path with nothing there
 * yet passes: dialing it fails on its own.
 *
 * @param path The path.
 * @returns Whether the host must refuse to dial it.
 */
export async function isNotASocket(path: string): Promise<boolean> {
  const stat = await Deno.lstat(path).catch(() => undefined);
  return stat !== undefined && !stat.isSocket;
}

/**
 * The TLS settings for dialing a plugin: none without AutoMTLS, else the
 * host's certificate and the plugin's announced one, pinned.
 *
 * @param name The plugin's name, for errors.
 * @param handshake The accepted handshake.
 * @param client The host's certificate when AutoMTLS is on.
 * @param stderrTail The plugin's last stderr lines, for errors.
 * @returns The TLS settings, or `undefined` for plaintext.
 * @throws {HandshakeError} `tls` when one side wants TLS and the other does not, or the certificate is not base64.
 */
export function tlsFor(
  name: string,
  handshake: Handshake,
  client: CertifiedKey | undefined,
  stderrTail: string[],
): DialTls | undefined {
  const fail = (detail: string, cause?: unknown): never => {
    throw new HandshakeError(name, "tls", detail, { line: handshake.line, stderrTail, cause });
  };
  if (client === undefined) {
    if (handshake.serverCert !== "") {
      fail("the plugin announced a TLS server certificate, but AutoMTLS is off (pass autoMtls)");
    }
    return undefined;
  }
  if (handshake.serverCert === "") {
    fail("AutoMTLS is on, but the plugin announced no server certificate");
  }
  try {
    return { ...client, serverCertificate: decodeServerCert(handshake.serverCert) };
  } catch (error) {
    return fail("its server certificate is not base64", error);
  }
}
