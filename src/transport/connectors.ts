/**
 * The transports by name: the one place that knows every implementation of
 * {@linkcode GrpcConnector}, each loaded when first named. Kept out of
 * `transport.ts`, which the implementations import, so no import runs in
 * a circle.
 *
 * @module
 */
import { DEFAULT_TRANSPORT, type GrpcConnector, type TransportKind } from "./transport.ts";

/**
 * Returns the connector for a transport kind.
 *
 * @param kind The transport.
 * @returns Its connector.
 * @throws {RangeError} When the kind is unknown.
 * @example
 * ```ts ignore
 * const connector = await connectorFor("node-http2");
 * await using channel = connector.dial("/tmp/x/plugin.sock");
 * await using local = connector.dial({ network: "tcp", hostname: "127.0.0.1", port: 1234 });
 * ```
 */
export async function connectorFor(
  kind: TransportKind = DEFAULT_TRANSPORT,
): Promise<GrpcConnector> {
  switch (kind) {
    case "node-http2": {
      const { nodeHttp2Connector } = await import("./node_http2.ts");
      return nodeHttp2Connector;
    }
    case "native": {
      const { nativeConnector } = await import("./h2/native.ts");
      return nativeConnector;
    }
    default:
      throw new RangeError(`Cannot use transport "${kind}": unknown transport`);
  }
}
