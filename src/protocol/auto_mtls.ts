/**
 * go-plugin's AutoMTLS, both sides: the host passes a one-time client
 * certificate to the plugin in `PLUGIN_CLIENT_CERT` (PEM); the plugin makes
 * a one-time server certificate and announces it in the handshake's 6th
 * field (DER, base64 without padding). Each side then accepts exactly the
 * other's certificate (pinned: see `src/transport/pinned_tls.ts`).
 *
 * Certificates are ECDSA P-521 with SHA-512, as go-plugin's, made with
 * WebCrypto and a small DER writer (`_der.ts`); unlike go-plugin's they are
 * not CA certificates (go-plugin trusts exactly the certificate it was
 * given, whatever its constraints), so a Go peer's chain verification with
 * that one certificate as its root accepts them.
 *
 * @module
 */
import {
  bits,
  boolean,
  explicit,
  integer,
  octets,
  oid,
  sequence,
  set,
  time,
  unsigned,
  utf8,
} from "./_der.ts";
import type { Der } from "./_der.ts";

/** The environment variable that carries the host's certificate to the plugin. */
export const ENV_CLIENT_CERT = "PLUGIN_CLIENT_CERT";

/** A certificate and its private key, both PEM. */
export interface CertifiedKey {
  /** The certificate (`-----BEGIN CERTIFICATE-----`). */
  certificate: string;
  /** The private key, PKCS #8 (`-----BEGIN PRIVATE KEY-----`). */
  privateKey: string;
}

const ECDSA_WITH_SHA512 = "1.2.840.10045.4.3.4";

/**
 * Makes a one-time self-signed ECDSA P-521 certificate for AutoMTLS: subject
 * and SAN `localhost`, client and server authentication, valid from a minute
 * ago for `validDays`.
 *
 * @param validDays How long it is valid.
 * @returns The certificate and key, PEM.
 * @example
 * ```ts
 * import { generateCertificate } from "./auto_mtls.ts";
 * const { certificate, privateKey } = await generateCertificate();
 * if (!certificate.startsWith("-----BEGIN CERTIFICATE-----")) throw new Error();
 * if (!privateKey.startsWith("-----BEGIN PRIVATE KEY-----")) throw new Error();
 * ```
 */
export async function generateCertificate(validDays = 30): Promise<CertifiedKey> {
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-521" }, true, [
    "sign",
    "verify",
  ]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0]! &= 0x7f;
  serial[0]! |= 0x01; // positive, and not trimmed to fewer bytes
  const name = sequence(
    set(sequence(oid("2.5.4.10"), utf8("Bulkhead"))),
    set(sequence(oid("2.5.4.3"), utf8("localhost"))),
  );
  const now = Date.now();
  const algorithm = sequence(oid(ECDSA_WITH_SHA512));
  const extension = (id: string, critical: boolean, value: Der) =>
    sequence(oid(id), ...(critical ? [boolean(true)] : []), octets(value));
  const tbs = sequence(
    explicit(0, integer(2)), // v3
    unsigned(serial),
    algorithm,
    name,
    sequence(time(new Date(now - 60_000)), time(new Date(now + validDays * 86_400_000))),
    name,
    spki,
    explicit(
      3,
      sequence(
        // keyUsage: digitalSignature
        extension("2.5.29.15", true, Uint8Array.of(0x03, 0x02, 0x07, 0x80)),
        // extKeyUsage: serverAuth, clientAuth
        extension("2.5.29.37", false, sequence(oid("1.3.6.1.5.5.7.3.1"), oid("1.3.6.1.5.5.7.3.2"))),
        // basicConstraints: not a CA
        extension("2.5.29.19", true, sequence()),
        // subjectAltName: DNS localhost
        extension("2.5.29.17", false, sequence(tlvDns("localhost"))),
      ),
    ),
  );
  const raw = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-512" }, keys.privateKey, tbs),
  );
  const half = raw.length / 2;
  const signature = sequence(unsigned(raw.subarray(0, half)), unsigned(raw.subarray(half)));
  const certificate = sequence(tbs, algorithm, bits(signature));
  return { certificate: pem("CERTIFICATE", certificate), privateKey: pem("PRIVATE KEY", pkcs8) };
}

function tlvDns(name: string): Der {
  // GeneralName dNSName [2] IA5String, implicit
  const bytes = new TextEncoder().encode(name);
  const out = new Uint8Array(2 + bytes.length);
  out.set([0x82, bytes.length]);
  out.set(bytes, 2);
  return out;
}

function pem(label: string, der: Uint8Array): string {
  let binary = "";
  for (const byte of der) binary += String.fromCharCode(byte);
  const lines = btoa(binary).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/**
 * The DER bytes of the first certificate in a PEM text.
 *
 * @param pem A PEM certificate, e.g. `PLUGIN_CLIENT_CERT`.
 * @returns Its DER encoding.
 * @throws {SyntaxError} When there is no certificate in it.
 * @example
 * ```ts
 * import { certificateDer, generateCertificate } from "./auto_mtls.ts";
 * const der = certificateDer((await generateCertificate()).certificate);
 * if (der[0] !== 0x30) throw new Error("not a DER sequence");
 * ```
 */
export function certificateDer(pem: string): Uint8Array<ArrayBuffer> {
  const body = pem.match(/-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/)?.[1];
  if (body === undefined) throw new SyntaxError("Cannot find a PEM certificate");
  const binary = atob(body.replace(/\s+/g, ""));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/**
 * Encodes a certificate for the handshake's 6th field as go-plugin does:
 * standard base64 without padding.
 *
 * @param der The certificate's DER bytes.
 * @returns The field's text.
 * @example
 * ```ts
 * import { handshakeCertificate } from "./auto_mtls.ts";
 * if (handshakeCertificate(Uint8Array.of(1, 2)) !== "AQI") throw new Error();
 * ```
 */
export function handshakeCertificate(der: Uint8Array): string {
  let binary = "";
  for (const byte of der) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/=+$/, "");
}

/**
 * Decodes the handshake's 6th field: the server certificate's DER in
 * base64, unpadded as go-plugin prints it (padded is accepted too).
 *
 * @param field The field, not empty.
 * @returns The DER bytes.
 * @throws {RangeError} When it is not base64.
 * @example
 * ```ts
 * import { decodeServerCert } from "./auto_mtls.ts";
 * console.log(decodeServerCert("AQID")); // Uint8Array [1, 2, 3]
 * ```
 */
export function decodeServerCert(field: string): Uint8Array {
  const padded = field.replace(/=+$/, "") +
    "=".repeat((4 - field.replace(/=+$/, "").length % 4) % 4);
  let binary: string;
  try {
    binary = atob(padded);
  } catch {
    throw new RangeError("Cannot read the server certificate: not base64");
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
