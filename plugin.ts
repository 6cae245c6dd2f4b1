/**
 * Bulkhead's plugin SDK: what a Deno plugin imports. {@linkcode serve} turns
 * a Deno program into a plugin that any Bulkhead or go-plugin host can
 * start; {@linkcode serveProcessor}, {@linkcode serveInput} and
 * {@linkcode serveOutput} make pipeline components.
 *
 * `mod.ts` exports all of this too, but also the host, the supervisor and
 * the pipeline runner: a plugin that imports `mod.ts` loads them all and
 * starts about twice as slowly (measured: ~160 ms to its handshake instead
 * of ~70 ms). Import this module in plugins.
 *
 * Most of a plugin's start is Deno loading and evaluating ~190 modules
 * (protobuf-es, Connect, this SDK and its transport). A plugin bundled with
 * `deno bundle --platform deno --code-splitting --outdir dist plugin.ts`
 * (then started as `dist/plugin.js`) holds one tree-shaken copy of each,
 * its own generated code included, and starts faster: measured with the
 * greeter, ~28% less CPU to its first answer, ~19% less time, and ~7 MB
 * less RSS after 200 calls. Keep `--code-splitting`: without it the
 * transports it does not use are loaded at start.
 *
 * @example
 * ```ts ignore
 * // deno.json: { "imports": { "bulkhead/": "<URL of Bulkhead>/" } }
 * import { serve, service } from "bulkhead/plugin.ts";
 * import { HelloService } from "./gen/hello/v1/hello_pb.ts"; // from `bulkhead gen`
 * await serve({
 *   services: [service(HelloService, { greet: (r) => ({ greeting: `Hello, ${r.name}!` }) })],
 * });
 * ```
 *
 * @module
 */

export type { ComponentField, ComponentManifest } from "./src/plugin/component_manifest.ts";
export {
  type PluginService,
  serve,
  type ServeOptions,
  service,
  type ServiceSet,
} from "./src/plugin/serve.ts";
export type {
  HostBroker,
  HostBrokerDialOptions,
  HostBrokerServer,
  ServeContext,
} from "./src/plugin/host_broker.ts";
export { BatchMessage, type PlainValue } from "./src/plugin/batch_message.ts";
export {
  type BatchContext,
  type BatchServeOptions,
  type ProcessBatch,
  serveProcessor,
  type ServeProcessorOptions,
} from "./src/plugin/serve_processor.ts";
export { type ReadBatch, serveInput, type ServeInputOptions } from "./src/plugin/serve_input.ts";
export {
  serveOutput,
  type ServeOutputOptions,
  type WriteBatch,
} from "./src/plugin/serve_output.ts";
export { BULKHEAD_COOKIE, type MagicCookie } from "./src/protocol/handshake.ts";
// Connect-RPC and protobuf-es at Bulkhead's pinned versions (see mod.ts)
export {
  type CallOptions,
  type Client,
  Code,
  ConnectError,
  type ContextKey,
  type ContextValues,
  createClient,
  createContextKey,
  createContextValues,
  type HandlerContext,
  type ServiceImpl,
  type Transport,
} from "./src/npm/connect.ts";
export {
  create,
  type DescFile,
  type DescMessage,
  type DescMethod,
  type DescService,
  fromBinary,
  type JsonValue,
  type Message,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "./src/npm/protobuf.ts";
export type { GrpcChannel, TransportKind } from "./src/transport/transport.ts";
