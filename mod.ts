/**
 * Bulkhead: run plugins as separate processes, talk to them with gRPC over a
 * Unix socket, and let none of them take the host down.
 *
 * Host side: {@linkcode Plugin} starts a plugin and gives typed Connect
 * clients for its services; {@linkcode Supervisor} keeps a plugin (or a pool
 * of its processes) running, restarted when it crashes:
 * `Supervisor.start({ plugin: { module: "./plugin.ts" }, size: 2 })`.
 * Plugin side: {@linkcode serve} turns a Deno program into a plugin
 * (plugins import `plugin.ts`, the SDK alone: it starts twice as fast as
 * this module). Connect-RPC's `ConnectError`, `Code`,
 * `createClient`, `createContextValues` and protobuf-es's `create` and
 * descriptor types are re-exported at the versions Bulkhead uses.
 *
 * @example
 * ```ts ignore
 * // deno.json: { "imports": { "bulkhead/": "<URL of Bulkhead>/" } }
 * import { Plugin } from "bulkhead/mod.ts";
 * import { HelloService } from "./gen/hello/v1/hello_pb.ts"; // from `bulkhead gen`
 * await using plugin = await Plugin.start({ module: "./plugin.ts" });
 * const { greeting } = await plugin.client(HelloService).greet({ name: "Ada" });
 * ```
 *
 * @module
 */

// Host side
export { Plugin } from "./src/host/plugin.ts";
export type {
  HandshakeMode,
  HealthOptions,
  PluginCall,
  PluginInfo,
  PluginOptions,
  PluginState,
  SandboxKind,
  StopOptions,
} from "./src/host/plugin_options.ts";
export { type Handshake } from "./src/host/handshake.ts";
export type { BrokerDialOptions, BrokeredServer, PluginBroker } from "./src/host/broker.ts";
export { REDPANDA_ADDRESS_ENV } from "./src/host/plugin.ts";
export { type Permissions } from "./src/host/permissions.ts";
export {
  type AttachOptions,
  type ReattachConfig,
  ReattachError,
  type ReattachFailure,
} from "./src/host/reattach.ts";
export {
  escapeControlChars,
  type Logger,
  type LogLevel,
  type LogRecord,
  stderrLogger,
} from "./src/host/logger.ts";
export {
  describeExit,
  type ExitStatus,
  HandshakeError,
  type HandshakeFailure,
  HostPermissionError,
  ModuleGraphError,
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
export {
  type UpgradeEvent,
  type UpgradeOptions,
  type UpgradePhase,
  type UpgradeResult,
} from "./src/host/upgrade_options.ts";
export { UpgradeFailedError } from "./src/host/upgrade_error.ts";
export type { RestartPolicy } from "./src/host/restart_policy.ts";
export { ChecksumMismatchError, type ChecksumTarget, pluginChecksum } from "./src/host/checksum.ts";
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
  loadPipelineConfig,
  type OutputConfig,
  type ParseConfigOptions,
  parsePipelineConfig,
  type PipelineConfig,
  type PluginComponentConfig,
  type ProcessFunction,
  type ProcessorConfig,
} from "./src/pipeline/config.ts";
export {
  discoverManifests,
  type ManifestComponentType,
  type ManifestField,
  parseManifest,
  type PluginManifest,
} from "./src/pipeline/manifest.ts";
export { type ConfigIssue, PipelineConfigError } from "./src/pipeline/config_error.ts";
export { type BatchPolicy } from "./src/pipeline/batch_policy.ts";
export {
  type PipelineProgress,
  type PipelineSummary,
  runPipeline,
  type RunPipelineOptions,
} from "./src/pipeline/engine.ts";
export { type StageStats } from "./src/pipeline/processor_stage.ts";
export {
  formatReload,
  type PipelineControl,
  type ReloadOptions,
  type StageReload,
} from "./src/pipeline/reload.ts";
export { type FileMode, OutputFileExistsError } from "./src/pipeline/file_output.ts";
export { CheckpointError } from "./src/pipeline/checkpoint.ts";
export { type ResponseBudget } from "./src/pipeline/response_budget.ts";
export { formatProgressLine, formatSummary } from "./src/pipeline/progress.ts";
export { type NatsInputConfig, type NatsOutputConfig } from "./src/pipeline/nats_config.ts";
export { type MetricsServer, PipelineMetrics, serveMetrics } from "./src/pipeline/metrics.ts";

// Plugin side (plugins should import ./plugin.ts: it loads none of the host)
export * from "./plugin.ts";

// Shared. Connect-RPC and protobuf-es at Bulkhead's pinned versions (ConnectError,
// Code, createClient, createContextValues, create, the descriptor types…) come
// with plugin.ts above, so a user never imports them by hand at a matching version.
export type { FileRegistry, Registry } from "./src/npm/protobuf.ts";
export type { FileDescriptorProto } from "./src/npm/protobuf_wkt.ts";
export type {
  GrpcChannel,
  ServiceRegistration,
  SocketAddress,
  TransportKind,
} from "./src/transport/transport.ts";
