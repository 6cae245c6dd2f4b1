/**
 * The host's side of the handshake: the plugin's first stdout line,
 * validated field by field (grammar in `src/protocol/handshake.ts`).
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { CORE_PROTOCOL_VERSION, parseHandshakeLine } from "../protocol/handshake.ts";
import { HandshakeError } from "./errors.ts";

/** A handshake the host accepted. */
export interface Handshake {
  /** Always 1. */
  coreVersion: number;
  /** The application protocol version the plugin chose. */
  appVersion: number;
  /** `unix`, or `tcp` when allowed. */
  network: "unix" | "tcp";
  /** The socket path (or loopback `host:port`). */
  address: string;
  /** Always `grpc`. */
  protocol: "grpc";
  /** The server certificate for AutoMTLS, `""` when none. */
  serverCert: string;
  /** Whether the plugin multiplexes broker connections. */
  mux: boolean;
  /** The line as printed. */
  line: string;
}

/** What the host expects of a handshake. */
export interface HandshakeExpectation {
  /** Application protocol versions the host offered. */
  versions: readonly number[];
  /** The plugin's private socket directory: a `unix` address must be inside it. */
  socketDir: string;
  /** Whether `tcp` on loopback is acceptable. */
  allowTcp: boolean;
  /** The name of the magic cookie's variable the host set, for errors (never its value). */
  cookieKey?: string;
}

/**
 * Validates a plugin's handshake line.
 *
 * @param plugin The plugin's name, for errors.
 * @param line The first line the plugin printed on stdout.
 * @param expect What the host offered.
 * @param stderrTail Returns the plugin's last stderr lines, for errors.
 * @returns The accepted handshake.
 * @throws {HandshakeError} Naming the plugin, quoting the line, saying which field is wrong.
 * @example
 * ```ts
 * import { validateHandshake } from "./handshake.ts";
 * const hs = validateHandshake("demo", "1|1|unix|/tmp/d/plugin.sock|grpc|", {
 *   versions: [1],
 *   socketDir: "/tmp/d",
 *   allowTcp: false,
 * });
 * if (hs.address !== "/tmp/d/plugin.sock") throw new Error();
 * ```
 */
export function validateHandshake(
  plugin: string,
  line: string,
  expect: HandshakeExpectation,
  stderrTail: () => string[] = () => [],
): Handshake {
  const fail = (reason: ConstructorParameters<typeof HandshakeError>[1], detail: string): never => {
    throw new HandshakeError(plugin, reason, detail, { line, stderrTail: stderrTail() });
  };
  let fields;
  try {
    fields = parseHandshakeLine(line);
  } catch (error) {
    if (!/^\d+\|/.test(line)) {
      return fail(
        "malformed",
        "malformed handshake line: it printed to stdout before its handshake, which must come first: " +
          "print logs to stderr (the host forwards them), never to stdout",
      );
    }
    return fail("malformed", `malformed handshake line: ${(error as Error).message}`);
  }
  if (fields.coreVersion !== CORE_PROTOCOL_VERSION) {
    fail(
      "core-version",
      `unsupported core protocol version ${fields.coreVersion} (this host speaks ${CORE_PROTOCOL_VERSION})`,
    );
  }
  if (!expect.versions.includes(fields.appVersion)) {
    fail(
      "app-version",
      `plugin chose app protocol version ${fields.appVersion}, host offered ${
        expect.versions.join(", ")
      }`,
    );
  }
  if (fields.protocol !== "grpc") {
    fail("protocol", `protocol "${fields.protocol}" is not supported (only grpc)`);
  }
  if (fields.network === "unix") {
    const address = resolve(fields.address);
    if (!fields.address.startsWith("/") || dirname(address) !== resolve(expect.socketDir)) {
      fail(
        "address",
        `socket ${fields.address} is not inside the plugin's socket directory ${expect.socketDir}`,
      );
    }
  } else if (fields.network === "tcp") {
    if (!expect.allowTcp) {
      fail("network", "network tcp is not allowed (pass allowTcp to accept loopback tcp)");
    }
    if (!isLoopback(fields.address)) {
      fail("address", `tcp address ${fields.address} is not on loopback`);
    }
  } else {
    fail(
      "network",
      `network "${fields.network}" is not supported (only unix, or tcp when allowed)`,
    );
  }
  return {
    coreVersion: fields.coreVersion,
    appVersion: fields.appVersion,
    network: fields.network as "unix" | "tcp",
    address: fields.address,
    protocol: "grpc",
    serverCert: fields.serverCert,
    mux: fields.mux,
    line,
  };
}

/**
 * Whether a `host:port` address is on loopback (127.0.0.0/8, ::1, localhost).
 *
 * @param address The address.
 * @returns Whether it is.
 * @example
 * ```ts
 * import { isLoopback } from "./handshake.ts";
 * if (!isLoopback("127.0.0.1:80") || isLoopback("10.0.0.1:80")) throw new Error();
 * ```
 */
export function isLoopback(address: string): boolean {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):([0-9]{1,5})$/.exec(address);
  if (!match) return false;
  const host = match[1] ?? match[2] ?? "";
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === "::1" || host === "localhost";
}
