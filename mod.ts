/**
 * Bulkhead: run plugins as separate processes, talk to them with gRPC over a
 * Unix socket, and let none of them take the host down.
 *
 * Host side: {@linkcode Plugin} starts a plugin and gives typed Connect
 * clients for its services. Plugin side: {@linkcode serve} turns a Deno
 * program into a plugin.
 *
 * @example
 * ```ts ignore
 * import { Plugin } from "./mod.ts";
 * import { GreeterService } from "./src/gen/bulkhead/examples/greeter/v1/greeter_pb.ts";
 * await using plugin = await Plugin.start({ module: "./examples/greeter/plugin.ts" });
 * const { greeting } = await plugin.client(GreeterService).greet({ name: "Ada" });
 * ```
 *
 * @module
 */

// Host side
export {
  type HealthOptions,
  Plugin,
  type PluginInfo,
  type PluginOptions,
  type PluginState,
  type StopOptions,
} from "./src/host/plugin.ts";
export { type Handshake } from "./src/host/handshake.ts";
export { type Permissions } from "./src/host/permissions.ts";
export { type Logger, type LogLevel, type LogRecord, stderrLogger } from "./src/host/logger.ts";
export {
  describeExit,
  type ExitStatus,
  HandshakeError,
  type HandshakeFailure,
  PluginError,
  PluginExitedError,
} from "./src/host/errors.ts";

// Plugin side
export { type PluginService, serve, type ServeOptions, service } from "./src/plugin/serve.ts";

// Shared
export type { DescService } from "./src/npm/protobuf.ts";
export type { Client, ServiceImpl } from "./src/npm/connect.ts";
export { BULKHEAD_COOKIE, type MagicCookie } from "./src/protocol/handshake.ts";
export { type TransportKind } from "./src/transport/transport.ts";
