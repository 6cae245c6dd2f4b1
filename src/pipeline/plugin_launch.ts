/**
 * How a pipeline starts a plugin component: the options of its processes
 * and of its pool, with Redpanda Connect's `Init` (carrying the component's
 * configuration) as the readiness call and `Close` as the graceful stop.
 *
 * @module
 */
import { createClient, type Transport } from "../npm/connect.ts";
import { BatchProcessorService } from "../gen/redpanda/runtime/v1alpha1/processor_pb.ts";
import { BatchInputService } from "../gen/redpanda/runtime/v1alpha1/input_pb.ts";
import { BatchOutputService } from "../gen/redpanda/runtime/v1alpha1/output_pb.ts";
import type { Logger } from "../host/logger.ts";
import type { PluginOptions } from "../host/plugin_options.ts";
import type { PoolOptions } from "../host/pool.ts";
import type { SupervisorEvent } from "../host/supervisor_options.ts";
import type { PluginComponentConfig } from "./config.ts";
import { toValue } from "../protocol/redpanda_value.ts";

/** Which batch service a plugin component serves. */
export type ComponentKind = "processor" | "input" | "output";

/** A plugin that answered `Init` with an error: its configuration was refused. */
export class ComponentInitError extends Error {
  /**
   * @param component The component's name.
   * @param reason What the plugin said.
   */
  constructor(component: string, reason: string) {
    super(
      reason.startsWith("PERMISSION_DENIED: ")
        ? `Cannot start "${component}": its Init was denied a permission: ${
          reason.slice("PERMISSION_DENIED: ".length)
        }`
        : `Cannot start "${component}": it refused its configuration: ${reason}`,
    );
    this.name = "ComponentInitError";
  }
}

const SERVICES = {
  processor: BatchProcessorService,
  input: BatchInputService,
  output: BatchOutputService,
} as const;

/**
 * The plugin options of a plugin component's processes: either launch
 * mode, with `Init` (carrying the component's configuration) as the
 * readiness call and `Close` as the graceful stop.
 *
 * @param plugin The component's configuration.
 * @param kind Which service it serves.
 * @param options Its logger, and what `Init` answered (an output's `max_in_flight`).
 * @returns Options for `Plugin.start` (or a pool's `plugin`).
 * @example
 * ```ts ignore
 * const options = componentPluginOptions(config.plugin, "processor");
 * ```
 */
export function componentPluginOptions(
  plugin: PluginComponentConfig,
  kind: ComponentKind,
  options: {
    logger?: Logger;
    onInit?: (response: { maxInFlight?: number }) => void;
  } = {},
): PluginOptions {
  const config = toValue(plugin.config as never);
  const service = SERVICES[kind];
  const ready = async (transport: Transport, signal: AbortSignal) => {
    const client = createClient(service, transport) as ReturnType<
      typeof createClient<typeof BatchOutputService>
    >;
    const response = await client.init({ config }, { signal, timeoutMs: 5000 });
    if (response.error?.message) throw new ComponentInitError(plugin.name, response.error.message);
    options.onInit?.(response);
  };
  const shutdown = async (transport: Transport, signal: AbortSignal) => {
    await (createClient(service, transport) as ReturnType<
      typeof createClient<typeof BatchOutputService>
    >).close({}, { signal });
  };
  return {
    ...(plugin.module === undefined
      ? { command: plugin.command!, sandbox: plugin.sandbox }
      : { module: plugin.module }),
    ...(plugin.moduleRoot === undefined ? {} : { moduleRoot: plugin.moduleRoot }),
    ...(plugin.sha256 === undefined ? {} : { sha256: plugin.sha256 }),
    args: plugin.args,
    name: plugin.name,
    cwd: plugin.cwd,
    env: plugin.env,
    permissions: plugin.permissions,
    limits: plugin.limits,
    handshake: plugin.handshake,
    ready,
    shutdown,
    startTimeoutMs: plugin.startTimeoutMs,
    maxMessageBytes: plugin.maxMessageBytes,
    stopGraceMs: 2000,
    ...(options.logger ? { logger: options.logger } : {}),
  };
}

/**
 * The pool options of a plugin component: its processes (a processor's
 * `processes`; one for an input or output), restarts, and what makes a
 * hung process go: a missed deadline kills it (the batch is then retried).
 *
 * @param plugin The component's configuration.
 * @param kind Which service it serves.
 * @param options Its logger, events, and what `Init` answered.
 * @returns Options for `PluginPool.start`.
 * @example
 * ```ts ignore
 * const pool = await PluginPool.start(componentPoolOptions(config.plugin, "processor"));
 * ```
 */
export function componentPoolOptions(
  plugin: PluginComponentConfig,
  kind: ComponentKind,
  options: {
    logger?: Logger;
    onEvent?: (event: SupervisorEvent) => void;
    onInit?: (response: { maxInFlight?: number }) => void;
  } = {},
): PoolOptions {
  return {
    plugin: componentPluginOptions(plugin, kind, options),
    size: kind === "processor" ? plugin.processes : 1,
    restart: plugin.restart,
    // a missed deadline means a hung plugin: kill it, so the batch can be retried
    maxMissedDeadlines: 1,
    // Redpanda Connect plugins serve no grpc.health; a crash is noticed by its exit
    healthIntervalMs: plugin.handshake === "none" ? 0 : 5000,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  };
}
