/**
 * The handshake: the contract between a host and a plugin process before any
 * gRPC is spoken. It is go-plugin's, so go-plugin plugins and hosts speak it.
 *
 * ## Environment the host passes to the plugin
 *
 * - the application's magic cookie, `KEY=VALUE`: a plugin refuses to run
 *   without it (it was started by hand, not by its host);
 * - `PLUGIN_PROTOCOL_VERSIONS`: comma-separated application protocol
 *   versions the host accepts, e.g. `1,2`;
 * - `PLUGIN_UNIX_SOCKET_DIR`: the private (0700) directory the plugin's
 *   socket must live in;
 * - `BULKHEAD_PLUGIN_SOCKET`: (Bulkhead hosts) the exact socket path to
 *   listen on, so a Deno plugin can be granted exactly that path;
 * - `BULKHEAD_HOST_STDIN=1`: (Bulkhead hosts) the host holds the plugin's
 *   stdin open for as long as it lives; EOF on stdin means the host is gone.
 * - `PLUGIN_MULTIPLEX_GRPC`: (go-plugin ≥ 1.5 hosts that multiplex, and
 *   Bulkhead hosts started with `multiplex: true`) `true` asks the plugin to
 *   run a yamux server session on its socket and carry every gRPC
 *   connection, brokered ones included, as a stream of it; a plugin that
 *   sees the variable set prints the 7th field.
 * - `TMPDIR`: (Bulkhead hosts, executables only) the socket directory again,
 *   since go-plugin before 1.5 ignores `PLUGIN_UNIX_SOCKET_DIR` and makes its
 *   socket in the temporary directory.
 *
 * ## The handshake line
 *
 * The plugin's first line on stdout, and nothing before it:
 *
 * ```
 * CORE|APP|NETWORK|ADDRESS|PROTOCOL[|SERVER_CERT[|MUX]]
 * ```
 *
 * - `CORE`: the core protocol version, always `1`;
 * - `APP`: the application protocol version the plugin chose among those
 *   offered (a positive integer);
 * - `NETWORK`: `unix` (or `tcp`, which a host accepts only on loopback and
 *   only when allowed);
 * - `ADDRESS`: the socket path (or `host:port` for `tcp`);
 * - `PROTOCOL`: `grpc` (go-plugin's `netrpc` is not supported);
 * - `SERVER_CERT`: base64 DER certificate for AutoMTLS, or empty (go-plugin
 *   Go plugins always print this field, empty when mTLS is off);
 * - `MUX`: printed only when `PLUGIN_MULTIPLEX_GRPC` is set (older hosts
 *   split the line into 6 fields): `true` when the plugin multiplexes,
 *   `false` when it cannot.
 *
 * Example: `1|1|unix|/tmp/bulkhead-x1/plugin.sock|grpc|`
 *
 * @module
 */

/** Environment variable naming the versions the host accepts. */
export const ENV_PROTOCOL_VERSIONS = "PLUGIN_PROTOCOL_VERSIONS";
/** Environment variable naming the plugin's private socket directory. */
export const ENV_UNIX_SOCKET_DIR = "PLUGIN_UNIX_SOCKET_DIR";
/** Environment variable naming the exact socket path (Bulkhead hosts). */
export const ENV_SOCKET_PATH = "BULKHEAD_PLUGIN_SOCKET";
/** Environment variable set to `1` when the host holds the plugin's stdin open. */
export const ENV_HOST_STDIN = "BULKHEAD_HOST_STDIN";
/** Environment variable set to `true` when the host multiplexes gRPC over one connection (go-plugin ≥ 1.5). */
export const ENV_MULTIPLEX_GRPC = "PLUGIN_MULTIPLEX_GRPC";
/** The only core protocol version. */
export const CORE_PROTOCOL_VERSION = 1;

/** An application's magic cookie: the plugin runs only when `KEY=VALUE` is set. */
export interface MagicCookie {
  /** The environment variable name. */
  key: string;
  /** The value it must have. */
  value: string;
}

/** Bulkhead's own magic cookie, used when an application names none. */
export const BULKHEAD_COOKIE: MagicCookie = {
  key: "BULKHEAD_PLUGIN",
  value: "d1b2a0c4-bulkhead-plugin-v1",
};

/** The fields of a handshake line. */
export interface HandshakeFields {
  /** Core protocol version (always 1). */
  coreVersion: number;
  /** Application protocol version chosen by the plugin. */
  appVersion: number;
  /** `unix` or `tcp` (as printed; validation is the host's job). */
  network: string;
  /** Socket path, or `host:port`. */
  address: string;
  /** `grpc` or `netrpc` (as printed). */
  protocol: string;
  /** Base64 DER server certificate, `""` when absent. */
  serverCert: string;
  /** Whether broker connections are multiplexed (7th field `true`). */
  mux: boolean;
  /** How many fields the line had (5 to 7). */
  fieldCount: number;
}

/**
 * Formats a handshake line (without the newline), always with the 6th field,
 * as go-plugin does, and with the 7th when `mux` is given (only when the
 * host set `PLUGIN_MULTIPLEX_GRPC`).
 *
 * @param fields What to announce.
 * @returns The line, e.g. `1|1|unix|/tmp/d/plugin.sock|grpc|`.
 * @example
 * ```ts
 * import { formatHandshake } from "./handshake.ts";
 * const line = formatHandshake({ appVersion: 1, network: "unix", address: "/tmp/p.sock" });
 * if (line !== "1|1|unix|/tmp/p.sock|grpc|") throw new Error(line);
 * const muxed = formatHandshake({ appVersion: 1, network: "unix", address: "/tmp/p.sock", mux: true });
 * if (muxed !== "1|1|unix|/tmp/p.sock|grpc||true") throw new Error(muxed);
 * ```
 */
export function formatHandshake(
  fields: {
    appVersion: number;
    network: string;
    address: string;
    serverCert?: string;
    mux?: boolean | undefined;
  },
): string {
  return [
    CORE_PROTOCOL_VERSION,
    fields.appVersion,
    fields.network,
    fields.address,
    "grpc",
    fields.serverCert ?? "",
    ...(fields.mux === undefined ? [] : [String(fields.mux)]),
  ].join("|");
}

/**
 * Splits a handshake line into its fields, checking only the grammar.
 *
 * @param line One line, without its newline.
 * @returns The fields.
 * @throws {SyntaxError} When the line does not have 5–7 fields or a version is not a positive integer.
 * @example
 * ```ts
 * import { parseHandshakeLine } from "./handshake.ts";
 * const fields = parseHandshakeLine("1|1|unix|/tmp/p.sock|grpc|");
 * if (fields.address !== "/tmp/p.sock") throw new Error();
 * ```
 */
export function parseHandshakeLine(line: string): HandshakeFields {
  const parts = line.replace(/\r$/, "").split("|");
  if (parts.length < 5 || parts.length > 7) {
    throw new SyntaxError(
      `expected CORE|APP|NETWORK|ADDRESS|PROTOCOL[|CERT[|MUX]], got ${parts.length} field(s)`,
    );
  }
  const [core, app, network, address, protocol, serverCert = "", mux = ""] = parts as [
    string,
    string,
    string,
    string,
    string,
    string?,
    string?,
  ];
  return {
    coreVersion: parseVersion("core protocol version", core),
    appVersion: parseVersion("app protocol version", app),
    network,
    address,
    protocol,
    serverCert,
    mux: mux === "true",
    fieldCount: parts.length,
  };
}

function parseVersion(what: string, text: string): number {
  if (!/^[0-9]{1,9}$/.test(text)) throw new SyntaxError(`${what} "${text}" is not a number`);
  return Number(text);
}

/**
 * Parses `PLUGIN_PROTOCOL_VERSIONS` (`"1,2"`) into numbers, ignoring blanks.
 *
 * @param text The variable's value.
 * @returns The versions, in the order given.
 * @example
 * ```ts
 * import { parseVersionList } from "./handshake.ts";
 * if (parseVersionList("1, 2").join() !== "1,2") throw new Error();
 * ```
 */
export function parseVersionList(text: string): number[] {
  return text.split(",").map((v) => v.trim()).filter((v) => /^[0-9]+$/.test(v)).map(Number);
}

/**
 * Reads a boolean as Go's `strconv.ParseBool` does (go-plugin reads
 * `PLUGIN_MULTIPLEX_GRPC` so): `1 t T TRUE true True` are true, anything
 * else is not.
 *
 * @param text The variable's value.
 * @returns Whether it says true.
 * @example
 * ```ts
 * import { parseGoBool } from "./handshake.ts";
 * if (!parseGoBool("True") || parseGoBool("yes")) throw new Error();
 * ```
 */
export function parseGoBool(text: string | undefined): boolean {
  return text !== undefined && ["1", "t", "T", "TRUE", "true", "True"].includes(text);
}
