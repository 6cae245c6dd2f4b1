/**
 * Readiness of a plugin launched without a handshake line (Redpanda
 * Connect's launch, `handshake: "none"`): the host chose the socket, so it
 * dials it and calls a probe — a fresh connection per attempt, with
 * exponential backoff — until the probe succeeds, the plugin exits, or the
 * start is aborted. Internal to `src/host/`.
 *
 * @module
 */
import { ConnectError, createClient } from "../npm/connect.ts";
import type { DialOptions, GrpcChannel, GrpcConnector } from "../transport/transport.ts";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.ts";
import { exitedBeforeReady } from "./_readiness.ts";
import type { StartDeadline } from "./_start_deadline.ts";
import type { HealthOptions, PluginCall } from "./plugin_options.ts";
import type { Transport } from "../npm/connect.ts";
import type { PluginProcess } from "./plugin_process.ts";

/** The default probe: `grpc.health.v1.Health/Check` of service `plugin` answers SERVING. */
export const healthProbe: PluginCall = async (transport, signal) => {
  const response = await createClient(Health, transport).check({ service: "plugin" }, {
    signal,
    timeoutMs: 2000,
  });
  if (response.status !== HealthCheckResponse_ServingStatus.SERVING) {
    throw new Error(`health status ${HealthCheckResponse_ServingStatus[response.status]}`);
  }
};

/**
 * Asks `grpc.health.v1.Health/Check` over `transport` ({@linkcode Plugin.health}).
 *
 * @param transport The plugin's transport.
 * @param options Which service (default `plugin`), a timeout (default 5 s), a signal.
 * @returns The serving status name, e.g. `"SERVING"`.
 */
export async function askHealth(transport: Transport, options: HealthOptions): Promise<string> {
  const response = await createClient(Health, transport).check(
    { service: options.service ?? "plugin" },
    { timeoutMs: options.timeoutMs ?? 5000, ...(options.signal ? { signal: options.signal } : {}) },
  );
  return HealthCheckResponse_ServingStatus[response.status] ?? String(response.status);
}

/**
 * Dials `socketPath` and calls `probe` until it resolves; returns the
 * channel it succeeded on (the caller owns it). A probe that rejects with a
 * `ConnectError` (nobody listening yet, connection dropped) is retried; any
 * other rejection means the plugin answered and refused, and is rethrown. The probe sets its own call
 * deadline; `deadline` ends the whole wait.
 *
 * @throws {PluginExitedError} When the plugin exits first.
 * @throws {HandshakeError} `timeout` when the deadline fires first, `aborted` when the caller aborts.
 */
export async function waitForAddress(
  name: string,
  process: PluginProcess,
  connector: GrpcConnector,
  socketPath: string,
  dialOptions: DialOptions,
  probe: PluginCall,
  deadline: StartDeadline,
): Promise<GrpcChannel> {
  const signal = deadline.signal;
  let lastError: unknown;
  for (let delay = 5; !signal.aborted; delay = Math.min(delay * 2, 250)) {
    if (process.exitStatus) break;
    const channel = connector.dial(socketPath, dialOptions);
    try {
      await probe(channel.transport, signal);
      return channel;
    } catch (error) {
      await channel.close();
      // the plugin answered and refused (e.g. an Init error): no point retrying
      if (!(error instanceof ConnectError) && !signal.aborted) throw error;
      // a probe the deadline cut short says less than the failure before it
      if (signal.aborted && lastError !== undefined) break;
      lastError = error;
    }
    await Promise.race([deadline.sleep(delay), process.exited]);
  }
  if (process.exitStatus) {
    throw await exitedBeforeReady(name, process, deadline);
  }
  const why = lastError instanceof Error ? lastError.message : String(lastError ?? "aborted");
  throw deadline.error(name, "its socket did not answer its readiness call", {
    detail: why,
    stderrTail: process.stderrTail(),
  });
}
