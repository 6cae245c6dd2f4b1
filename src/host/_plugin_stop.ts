/**
 * How a plugin is stopped: ask it to exit (Shutdown or the `shutdown` call),
 * hang up (broker, stdin, connection), then SIGTERM, then SIGKILL, each step
 * bounded by the grace period. Internal to `src/host/`.
 *
 * @module
 */
import type { GrpcChannel } from "../transport/transport.ts";
import { GRPCController } from "../gen/plugin/grpc_controller_pb.ts";
import { createClient } from "../npm/connect.ts";
import { deadline, settledOrAborted } from "../_timing.ts";
import type { PluginProcess } from "./plugin_process.ts";
import type { AttachedProcess } from "./reattach_process.ts";
import type { PluginCall } from "./plugin_options.ts";
import type { ExitStatus } from "./errors.ts";

/** What a stop works on. */
export interface StopTarget {
  /** The plugin's process. */
  process: PluginProcess | AttachedProcess;
  /** Its connection. */
  channel: GrpcChannel;
  /** Settles when its stdio stream ends. */
  stdioDone: Promise<void>;
  /** The `shutdown` option's call, in place of go-plugin's Shutdown. */
  shutdown: PluginCall | undefined;
  /** Closes the broker, if one was opened. */
  closeBroker(): Promise<void> | undefined;
}

/**
 * Stops a plugin that has not exited yet: asks, hangs up, then SIGTERM and
 * SIGKILL after `graceMs` each. Returns once it has exited or been
 * SIGKILLed; never rejects.
 *
 * @param target What to stop.
 * @param graceMs The grace period of each step.
 */
export async function stopGracefully(target: StopTarget, graceMs: number): Promise<void> {
  // The graceful part gets one deadline, whatever the plugin's socket does
  // (a plugin that stops reading it leaves a write pending for ever).
  const graceful = deadline(graceMs);
  const asked = askToExit(target, graceful.signal, graceMs);
  const exitedInTime = await exitWithin(target.process, graceful.signal, asked);
  graceful.clear();
  if (exitedInTime) return;
  target.process.kill("SIGTERM");
  const term = deadline(graceMs);
  if (!await exitWithin(target.process, term.signal)) target.process.kill("SIGKILL");
  term.clear();
}

/**
 * Shutdown (or the `shutdown` option's call), then hangs up: closes the
 * broker, stdin and the channel. Never rejects; each step ends when
 * `signal` aborts.
 */
async function askToExit(target: StopTarget, signal: AbortSignal, graceMs: number): Promise<void> {
  const { channel, process } = target;
  const until = (step: Promise<unknown>) => settledOrAborted(step, signal);
  await until((async () => {
    if (target.shutdown) await target.shutdown(channel.transport, signal);
    else {
      await createClient(GRPCController, channel.transport).shutdown({}, {
        signal,
        timeoutMs: graceMs,
      });
    }
    // UNAVAILABLE is success for go-plugin (it drops the connection in the handler)
  })());
  await until(Promise.resolve(target.closeBroker()));
  await until(process.closeStdin());
  // Let the plugin's last output arrive before hanging up: its stdio stream
  // ends when it exits or drops the connection (a Bulkhead plugin leaves at
  // stdin EOF), bounded for plugins that do neither.
  const stdioWait = deadline(Math.min(graceMs, 1000));
  await settledOrAborted(target.stdioDone, AbortSignal.any([signal, stdioWait.signal]));
  stdioWait.clear();
  await until(channel.close());
}

/** True once the process has exited (after `first`, if given); false when `signal` aborts first. */
async function exitWithin(
  process: PluginProcess | AttachedProcess,
  signal: AbortSignal,
  first?: Promise<void>,
): Promise<boolean> {
  if (first) await settledOrAborted(first, signal);
  await settledOrAborted(process.exited, signal);
  return process.exitStatus !== undefined;
}

/**
 * What follows a plugin's exit: `onExit` (which closes its broker), then
 * its connection closed and its process cleaned up. Each step is bounded (a
 * closing connection gives a peer that stopped reading a deadline) and none
 * may make the result reject.
 *
 * @param process The plugin's process.
 * @param channel Its connection.
 * @param onExit Runs first; may return the broker's close.
 * @returns The exit status, once all is cleaned up; never rejects.
 */
export async function afterExit(
  process: PluginProcess | AttachedProcess,
  channel: GrpcChannel,
  onExit: () => Promise<void> | undefined,
): Promise<ExitStatus> {
  const status = await process.exited;
  await onExit()?.catch(() => {});
  await channel.close().catch(() => {});
  await process.cleanup().catch(() => {});
  return status;
}
