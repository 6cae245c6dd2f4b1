/**
 * Serves one batch component service in whichever way the host launched
 * the plugin: Redpanda Connect's way (`REDPANDA_CONNECT_PLUGIN_ADDRESS` set:
 * listen there, print nothing) or go-plugin's (handshake through
 * {@linkcode serve}). Internal to `src/plugin/`.
 *
 * @module
 */
import type { ComponentManifest } from "./component_manifest.ts";
import { ENV_HOST_STDIN } from "../protocol/handshake.ts";
import { maxMessageBytes, type TransportKind } from "../transport/transport.ts";
import { connectorFor } from "../transport/connectors.ts";
import { watchHost } from "./host_watch.ts";
import { type PluginService, serve } from "./serve.ts";

/** Options every batch component's `serve…` function takes. */
export interface BatchServeOptions {
  /**
   * Largest gRPC message either way, in bytes.
   * @default {4194304}
   */
  maxMessageBytes?: number;
  /**
   * How gRPC messages become bytes and back (the plugin's side; native transport
   * only): `"compiled"` uses encoders and decoders built per message type
   * from its descriptor, `"protobuf-es"` uses protobuf-es's
   * `toBinary`/`fromBinary`. Both write the same bytes; the compiled codec
   * hands what it does not cover (proto2 and editions files, wrapper-typed
   * fields) to protobuf-es itself. Turn it off to rule it out when chasing
   * a bug.
   * @default {"compiled"}
   */
  codec?: "compiled" | "protobuf-es";
  /**
   * The gRPC transport.
   * @default {"native"}
   */
  transport?: TransportKind;
  /** Stops serving when aborted; the `serve…` call then resolves. */
  signal?: AbortSignal;
  /**
   * The component's manifest (Redpanda Connect's `plugin.yaml` without
   * `command`, `cwd` and `type`), printed by `bulkhead plugins manifest`.
   */
  manifest?: ComponentManifest;
}

/** The variable a Redpanda Connect host (or a Bulkhead host in that mode) sets. */
export const ADDRESS_ENV = "REDPANDA_CONNECT_PLUGIN_ADDRESS";

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // not granted: not set, as far as we are concerned
  }
}

/** Parses `unix:<path>` or `unix://<path>`. */
export function parseAddress(address: string): string {
  const match = /^unix:(?:\/\/)?(\/.*|[^/].*)$/.exec(address);
  if (!match) {
    throw new RangeError(
      `Cannot listen on ${ADDRESS_ENV}="${address}": only unix:<path> addresses are supported`,
    );
  }
  return match[1]!;
}

/**
 * After `Close`: a Bulkhead host closes stdin next and a Redpanda Connect
 * host sends SIGTERM; leave on our own if neither comes.
 */
export function exitSoonAfterClose(): void {
  const timer = setTimeout(() => Deno.exit(0), 2000);
  Deno.unrefTimer(timer);
}

/** Serves `component` until the host stops the plugin (or `options.signal` aborts). */
export async function serveComponent(
  component: PluginService,
  options: BatchServeOptions,
): Promise<void> {
  const address = readEnv(ADDRESS_ENV);
  if (address === undefined) {
    await serve({
      services: [component],
      ...(options.maxMessageBytes === undefined
        ? {}
        : { maxMessageBytes: options.maxMessageBytes }),
      ...(options.transport === undefined ? {} : { transport: options.transport }),
      ...(options.codec === undefined ? {} : { codec: options.codec }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    return;
  }
  const path = parseAddress(address);
  const maxBytes = maxMessageBytes(options.maxMessageBytes);
  const connector = await connectorFor(options.transport);
  const server = await connector.listen(path, [component], {
    readMaxBytes: maxBytes,
    writeMaxBytes: maxBytes,
    ...(options.codec === undefined ? {} : { codec: options.codec }),
  });
  const leave = async () => {
    await Deno.remove(path).catch(() => {});
    Deno.exit(0);
  };
  const stopWatch = watchHost({
    stdinHeldByHost: readEnv(ENV_HOST_STDIN) === "1",
    onHostGone: () => void leave(),
  });
  await new Promise<void>((resolve) => {
    options.signal?.addEventListener("abort", async () => {
      stopWatch();
      await server.shutdown({ graceMs: 1000 });
      await Deno.remove(path).catch(() => {});
      resolve();
    }, { once: true });
  });
}
