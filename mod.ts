/**
 * Bulkhead: run plugins as separate processes, talk to them with gRPC over a
 * Unix socket, and let none of them take the host down.
 *
 * Host side: {@linkcode Plugin} starts a plugin and gives typed Connect
 * clients for its services. Plugin side: {@linkcode serve} turns a Deno
 * program into a plugin (plugins import `./plugin.ts`, the SDK alone: it
 * starts twice as fast as this module).
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
  type SandboxKind,
  type StopOptions,
} from "./src/host/plugin.ts";
export { type Handshake } from "./src/host/handshake.ts";
export type { BrokerDialOptions, BrokeredServer, PluginBroker } from "./src/host/broker.ts";
export { type HandshakeMode, type PluginCall, REDPANDA_ADDRESS_ENV } from "./src/host/plugin.ts";
export { type Permissions } from "./src/host/permissions.ts";
export { type Logger, type LogLevel, type LogRecord, stderrLogger } from "./src/host/logger.ts";
export {
  describeExit,
  type ExitStatus,
  HandshakeError,
  type HandshakeFailure,
  PluginCrashedError,
  PluginError,
  PluginExitedError,
  PluginFailedError,
  type SandboxFailure,
  SandboxUnavailableError,
} from "./src/host/errors.ts";
export {
  type PluginStats,
  RETRYABLE,
  type SlotState,
  Supervisor,
  type SupervisorEvent,
  type SupervisorOptions,
  type SupervisorState,
} from "./src/host/supervisor.ts";
export type { RestartPolicy } from "./src/host/restart_policy.ts";
export { explainExit, type ResourceLimits } from "./src/host/limits.ts";
export type { CallStatsSnapshot } from "./src/host/call_stats.ts";

export { type CallJsonOptions, callUnaryJson, parseMethodName } from "./src/host/json_call.ts";
export {
  type ReflectionCallOptions,
  ReflectionClient,
  type ReflectionVersion,
  type ServiceClients,
} from "./src/host/reflection_client.ts";

// Pipelines
export {
  type InputConfig,
  type LaunchMode,
  loadPipelineConfig,
  type OutputConfig,
  type ParseConfigOptions,
  parsePipelineConfig,
  type PipelineConfig,
  type PluginComponentConfig,
  type ProcessFunction,
  type ProcessorConfig,
} from "./src/pipeline/config.ts";
export { type ConfigIssue, PipelineConfigError } from "./src/pipeline/config_error.ts";
export { type BatchPolicy } from "./src/pipeline/batch_policy.ts";
export {
  type PipelineProgress,
  type PipelineSummary,
  runPipeline,
  type RunPipelineOptions,
} from "./src/pipeline/engine.ts";
export { type StageStats } from "./src/pipeline/processor_stage.ts";
export { formatProgressLine, formatSummary } from "./src/pipeline/progress.ts";

// Plugin side (plugins should import ./plugin.ts: it loads none of the host)
export * from "./plugin.ts";

// Shared
// Types of protobuf-es and Connect-RPC that appear in Bulkhead's signatures
export type {
  DescMethod,
  DescService,
  FileRegistry,
  JsonValue,
  Registry,
} from "./src/npm/protobuf.ts";
export type { FileDescriptorProto } from "./src/npm/protobuf_wkt.ts";
export type { Client, ContextKey, ServiceImpl, Transport } from "./src/npm/connect.ts";
export type {
  GrpcChannel,
  ServiceRegistration,
  SocketAddress,
  TransportKind,
} from "./src/transport/transport.ts";
