/**
 * Where brokered servers listen (go-plugin's `plugin.GRPCBroker`), a
 * convention both ends of a Bulkhead pair share, and how an announced
 * address reads.
 *
 * Deno's permission for a Unix socket names exact paths (no directory, no
 * wildcard), so a sandboxed Deno plugin can use a brokered socket only when
 * its host granted that path before it started. The paths are therefore
 * fixed "slots", reused once their server closes:
 *
 * - the host serves slot `n` at `<socket dir>/broker-<n>.sock`;
 * - the plugin serves slot `n` next to its own socket:
 *   `<its socket without .sock>-broker-<n>.sock`.
 *
 * A Bulkhead host with `brokerSockets: N` grants a Deno plugin slots 1…N
 * both ways. Ids (go-plugin's `NextId`) are not slots: any id can use any
 * free slot, since the announcement carries the path.
 *
 * @module
 */

/**
 * A socket address: a Unix socket path, or TCP.
 * (The same shape as the transport's `SocketAddress`.)
 */
export type AnnouncedAddress =
  | { network: "unix"; path: string }
  | { network: "tcp"; hostname: string; port: number };

/**
 * The socket path of the host's brokered server in slot `slot`.
 *
 * @param socketDir The plugin's socket directory.
 * @param slot 1, 2, 3, …
 * @returns The path.
 * @example
 * ```ts
 * import { hostBrokerSocket } from "./broker_sockets.ts";
 * if (hostBrokerSocket("/tmp/d", 2) !== "/tmp/d/broker-2.sock") throw new Error();
 * ```
 */
export function hostBrokerSocket(socketDir: string, slot: number): string {
  return `${socketDir}/broker-${slot}.sock`;
}

/**
 * Whether `path` is where the host serves a brokered slot
 * (`<socket dir>/broker-<n>.sock`): a host never dials such a path, even
 * when its plugin announces it as its own.
 *
 * @param socketDir The plugin's socket directory.
 * @param path An absolute, normalized socket path.
 * @returns Whether it is one of the host's brokered sockets.
 * @example
 * ```ts
 * import { isHostBrokerSocket } from "./broker_sockets.ts";
 * if (!isHostBrokerSocket("/tmp/d", "/tmp/d/broker-3.sock")) throw new Error();
 * if (isHostBrokerSocket("/tmp/d", "/tmp/d/plugin-broker-3.sock")) throw new Error();
 * ```
 */
export function isHostBrokerSocket(socketDir: string, path: string): boolean {
  const prefix = `${socketDir.replace(/\/+$/, "")}/`;
  return path.startsWith(prefix) && /^broker-[0-9]+\.sock$/.test(path.slice(prefix.length));
}

/**
 * The socket path of a plugin's brokered server in slot `slot`, next to the
 * plugin's own socket.
 *
 * @param pluginSocket The plugin's own socket path.
 * @param slot 1, 2, 3, …
 * @returns The path.
 * @example
 * ```ts
 * import { pluginBrokerSocket } from "./broker_sockets.ts";
 * if (pluginBrokerSocket("/tmp/d/plugin.sock", 1) !== "/tmp/d/plugin-broker-1.sock") {
 *   throw new Error();
 * }
 * ```
 */
export function pluginBrokerSocket(pluginSocket: string, slot: number): string {
  return `${pluginSocket.replace(/\.sock$/, "")}-broker-${slot}.sock`;
}

/**
 * Reads an announced address (a handshake's, or a broker `ConnInfo`'s).
 *
 * @param network `unix` or `tcp`.
 * @param address A socket path, or `host:port` (`[v6]:port`).
 * @returns The address to dial.
 * @throws {RangeError} When a tcp address has no valid port.
 * @example
 * ```ts
 * import { addressOf } from "./broker_sockets.ts";
 * const a = addressOf("tcp", "[::1]:1234");
 * if (a.network !== "tcp" || a.hostname !== "::1" || a.port !== 1234) throw new Error();
 * ```
 */
export function addressOf(network: "unix" | "tcp", address: string): AnnouncedAddress {
  if (network === "unix") return { network, path: address };
  const match = /^(?:\[([^\]]+)\]|([^:]+)):([0-9]{1,5})$/.exec(address);
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65535) {
    throw new RangeError(`Cannot dial ${address}: not a host:port address`);
  }
  return { network, hostname: match[1] ?? match[2]!, port };
}
