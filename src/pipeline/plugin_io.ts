/**
 * Plugin inputs and outputs: Redpanda Connect's `BatchInputService` and
 * `BatchOutputService` behind the engine's input and output interfaces,
 * each one supervised process (restarted when it crashes, then initialised
 * and connected again).
 *
 * An input plugin's batch is acknowledged (`Ack`) once all its messages are
 * written; batches read from an input process that then crashed are not
 * acknowledged at all: its replacement does not know them, and its own batch
 * ids start again, so an old id would acknowledge one of its batches instead.
 * A durable source sends such batches again (at-least-once). An output batch
 * whose plugin crashed is sent again to the restarted plugin, so an output
 * plugin may see a batch twice. After a restart, input and output are
 * connected again (`Connect`) before their next call.
 *
 * @module
 */
import { Code, ConnectError, createClient } from "../npm/connect.ts";
import { sleep } from "../_timing.ts";
import { BatchInputService } from "../gen/redpanda/runtime/v1alpha1/input_pb.ts";
import { BatchOutputService } from "../gen/redpanda/runtime/v1alpha1/output_pb.ts";
import { PluginCrashedError } from "../host/errors.ts";
import { guardedAttempt } from "../host/guarded_transport.ts";
import type { Lease } from "../host/lease.ts";
import { PluginPool } from "../host/pool.ts";
import type { PluginComponentConfig } from "./config.ts";
import type { InputChunk, PipelineInput } from "./input.ts";
import type { PipelineOutput } from "./output.ts";
import { type ComponentKind, componentPoolOptions } from "./plugin_launch.ts";
import type { StageOptions, StageStats } from "./processor_stage.ts";
import { ENCODED_READ_BATCH } from "./_encoded_methods.ts";
import { decodeInputBatch, InputBudgetError } from "./_input_batch.ts";

export { InputBudgetError };

const MAX_FAILURES = 5;

/**
 * The deadline of `ReadBatch`, which may wait long for data: about 23 days,
 * the longest whose `grpc-timeout` (`2000000S`) still fits a 32-bit timer at
 * the plugin's end. (2³¹−1 ms is sent as `2147484S`, which overflows there
 * and expires at once: the plugin was then killed as hung on every read
 * that waited.)
 */
const READ_TIMEOUT_MS = 2_000_000_000;

/** Whether a call failed because the plugin went away (it is being restarted). */
function transient(error: unknown): boolean {
  return error instanceof PluginCrashedError ||
    (error instanceof ConnectError && error.code !== Code.Unimplemented);
}

/** An input or output plugin's numbers, in the shape of a stage's. */
function componentStats(pool: PluginPool, kind: "input" | "output"): StageStats {
  const [slot] = pool.stats();
  return {
    name: pool.name,
    kind,
    processes: 1,
    restarts: pool.restarts,
    retries: 0,
    bisections: 0,
    filtered: 0,
    calls: slot?.calls ?? 0,
    errors: slot?.errors ?? 0,
    p50Ms: slot?.p50Ms ?? 0,
    p99Ms: slot?.p99Ms ?? 0,
    histogram: slot?.histogram ?? [],
    latencySumMs: slot?.latencySumMs ?? 0,
  };
}

function startOne(
  plugin: PluginComponentConfig,
  kind: ComponentKind,
  options: StageOptions,
): Promise<PluginPool> {
  return PluginPool.start(componentPoolOptions(plugin, kind, {
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  }));
}

/**
 * Leases the component's process (waiting up to `timeoutMs` for a
 * restart), runs `use` on it, and releases it.
 */
async function withLease<R>(
  pool: PluginPool,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  use: (lease: Lease) => Promise<R>,
): Promise<R> {
  const lease = await pool.lease({
    deadline: Date.now() + timeoutMs,
    ...(signal ? { signal } : {}),
  });
  try {
    return await use(lease);
  } finally {
    lease.release();
  }
}

/**
 * Starts an input plugin.
 *
 * @param plugin The component.
 * @param options Logger and events.
 * @returns The input.
 * @throws {Error} When it fails to start.
 */
export async function pluginInput(
  plugin: PluginComponentConfig,
  options: StageOptions = {},
): Promise<PipelineInput> {
  const pool = await startOne(plugin, "input", options);
  const clientOf = (lease: Lease) => createClient(BatchInputService, lease.plugin.transport);
  let connectedIn: number | undefined; // the generation the input was connected in
  let closing: Promise<void> | undefined;
  /** Connects the leased process; false when it refused (it is asked again later). */
  const connect = async (lease: Lease, signal: AbortSignal) => {
    const response = await guardedAttempt(
      lease,
      signal,
      () => clientOf(lease).connect({}, { signal, timeoutMs: plugin.timeoutMs }),
    );
    if (response.error?.message) return false;
    connectedIn = lease.generation;
    return true;
  };
  return {
    name: plugin.name,
    async read(signal): Promise<InputChunk | null> {
      let failures = 0;
      for (let delay = 50; !signal.aborted; delay = Math.min(delay * 2, 1000)) {
        try {
          const chunk = await withLease(pool, READ_TIMEOUT_MS, signal, async (lease) => {
            if (connectedIn !== lease.generation && !await connect(lease, signal)) {
              return "again" as const;
            }
            const response = (await guardedAttempt(lease, signal, () =>
              lease.plugin.transport.unary(
                ENCODED_READ_BATCH,
                signal,
                READ_TIMEOUT_MS,
                undefined,
                {},
              ))).message;
            const error = response.error;
            if (error?.detail.case === "endOfInput") {
              return null;
            }
            if (error?.detail.case === "notConnected") {
              connectedIn = undefined;
              return "again" as const;
            }
            if (error?.message) {
              throw new Error(`input "${plugin.name}": ${error.message}`);
            }
            const client = clientOf(lease);
            const messages = await decodeInputBatch(plugin, response.batch, async (reason) => {
              await client.ack({ batchId: response.batchId, error: { message: reason } }, {
                timeoutMs: 5000,
              }).catch(() => {});
            });
            const id = response.batchId;
            return {
              messages,
              ack: async (reason?: string) => {
                // acknowledged by the process that read it: a replacement knows not the id
                if (!lease.current) {
                  return;
                }
                const request = { batchId: id, ...(reason ? { error: { message: reason } } : {}) };
                // it may crash meanwhile
                await client.ack(request, { timeoutMs: plugin.timeoutMs }).catch(() => {});
              },
            };
          });
          if (chunk !== "again") return chunk;
          failures = 0;
          await sleep(delay, signal);
        } catch (error) {
          if (signal.aborted) return null;
          if (!transient(error) || ++failures >= MAX_FAILURES) throw error;
          connectedIn = undefined; // a restarted plugin must connect again
          await sleep(100 * failures, signal);
        }
      }
      return null;
    },
    stats: () => componentStats(pool, "input"),
    close: () => closing ??= pool.stop(),
  };
}

/**
 * Starts an output plugin.
 *
 * @param plugin The component.
 * @param options Logger and events.
 * @returns The output.
 * @throws {Error} When it fails to start.
 */
export async function pluginOutput(
  plugin: PluginComponentConfig,
  options: StageOptions = {},
): Promise<PipelineOutput> {
  const pool = await startOne(plugin, "output", options);
  let connectedIn: number | undefined; // the generation the output was connected in
  let closing: Promise<void> | undefined;
  return {
    name: plugin.name,
    async write(messages) {
      if (messages.length === 0) return;
      let failures = 0;
      while (true) {
        try {
          const again = await withLease(pool, plugin.timeoutMs, undefined, async (lease) => {
            const client = createClient(BatchOutputService, lease.plugin.transport);
            const call = { timeoutMs: plugin.timeoutMs };
            if (connectedIn !== lease.generation) {
              const response = await guardedAttempt(
                lease,
                undefined,
                () => client.connect({}, call),
              );
              if (response.error?.message) {
                throw new Error(
                  `output "${plugin.name}" cannot connect: ${response.error.message}`,
                );
              }
              connectedIn = lease.generation;
            }
            const response = await guardedAttempt(
              lease,
              undefined,
              () => client.send({ batch: { messages: [...messages] } }, call),
            );
            if (response.error?.detail.case === "notConnected") {
              connectedIn = undefined;
              return true;
            }
            if (response.error?.message) {
              throw new Error(`output "${plugin.name}": ${response.error.message}`);
            }
            return false;
          });
          if (!again) return;
        } catch (error) {
          if (++failures >= MAX_FAILURES) throw error;
          if (transient(error)) connectedIn = undefined;
          await sleep(100 * failures);
        }
      }
    },
    stats: () => componentStats(pool, "output"),
    close: () => closing ??= pool.stop(),
  };
}
