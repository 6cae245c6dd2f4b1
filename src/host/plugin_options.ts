/**
 * The options of {@linkcode Plugin}'s public API (its snapshot is in
 * `plugin_info.ts`).
 *
 * @module
 */
import type { Transport } from "../npm/connect.ts";
import type { TransportKind } from "../transport/transport.ts";
import type { MagicCookie } from "../protocol/handshake.ts";
import type { Logger } from "./logger.ts";
import type { Permissions } from "./permissions.ts";
import type { ResourceLimits } from "./limits.ts";

export type { PluginInfo, PluginState, SandboxKind } from "./plugin_info.ts";

/**
 * How a plugin is launched and says it is ready:
 *
 * - `"go-plugin"`: go-plugin's handshake line on stdout, then a health check.
 * - `"none"`: Redpanda Connect's launch. No handshake line (the first stdout
 *   line is logged like any other); the host passes the socket it chose in
 *   {@linkcode PluginOptions.addressEnv} as `unix:<path>` and calls
 *   {@linkcode PluginOptions.ready} on a fresh connection per attempt, with
 *   backoff, until it succeeds.
 */
export type HandshakeMode = "go-plugin" | "none";

/**
 * A call on a plugin's connection: a readiness probe (`ready`) or a
 * graceful stop request (`shutdown`). Rejecting means "not (yet)".
 */
export type PluginCall = (transport: Transport, signal: AbortSignal) => Promise<void>;

/** Options for {@linkcode Plugin.start}. Give exactly one of `module` or `command`. */
export interface PluginOptions {
  /**
   * A Deno plugin module (path or URL), run sandboxed by `deno run` with
   * exactly {@linkcode PluginOptions.permissions}.
   */
  module?: string | URL;
  /**
   * Any other executable (a path, or a name on `PATH`), run in a bubblewrap
   * sandbox with exactly {@linkcode PluginOptions.permissions} (see
   * `src/host/bwrap.ts`), unless {@linkcode PluginOptions.sandbox} is `false`.
   */
  command?: string;
  /**
   * For a `command`: `false` runs it unsandboxed, with all of the host
   * user's rights (shown as a warning by `inspect` and `run --check`).
   * Deno modules are always sandboxed by Deno.
   * @default {true}
   */
  sandbox?: boolean;
  /**
   * Arguments for the plugin.
   * @default {[]}
   */
  args?: readonly string[];
  /**
   * The plugin's name in logs and errors.
   * @default {the module's or command's file name}
   */
  name?: string;
  /** Working directory. @default {the host's} */
  cwd?: string;
  /**
   * Where to make the plugin's private socket directory (socket paths must
   * stay under 107 bytes).
   * @default {the system's temporary directory}
   */
  socketParent?: string;
  /**
   * Extra environment variables. Nothing of the host's environment is passed
   * unless named here.
   * @default {{}}
   */
  env?: Record<string, string>;
  /**
   * What the plugin may touch: Deno's permission flags for a module,
   * bubblewrap's mounts and namespaces for a `command` (there `net` is all
   * or nothing, `env` passes the named host variables in, and `sys`,
   * `unsafeRun`, `unsafeFfi` mean nothing: what it runs stays sandboxed).
   * Ignored with `sandbox: false`.
   * @default {{} (nothing but its own socket)}
   */
  permissions?: Permissions;
  /**
   * The directory a Deno plugin may load modules and imported assets (JSON,
   * text, bytes) from, besides Bulkhead's own sources, Deno's cache and its
   * `read` grants (Deno loads a module graph without read checks, so the
   * host checks it before the start). Widen it for a plugin that imports
   * code from outside its directory, e.g. `".."` for a project that keeps
   * generated code in `../gen`. Relative to `cwd`.
   * @default {the directory of `module`}
   */
  moduleRoot?: string;
  /**
   * The plugin's pinned SHA-256 (hex), as go-plugin's `SecureConfig`: the
   * executable's file, or a Deno module's whole module graph (see
   * `src/host/checksum.ts`). A plugin whose hash differs is refused with a
   * `ChecksumMismatchError` before it is spawned. `bulkhead inspect` prints
   * the hash to pin.
   * @default {none (not checked)}
   */
  sha256?: string;
  /** Extra `deno run` flags for a Deno plugin, e.g. `--v8-flags=--max-old-space-size=256`. */
  denoFlags?: readonly string[];
  /**
   * Resource limits for the plugin process. Hitting one is a contained
   * crash whose reason names the limit.
   * @default {{} (none)}
   */
  limits?: ResourceLimits;
  /**
   * The application's magic cookie.
   * @default {BULKHEAD_COOKIE}
   */
  cookie?: MagicCookie;
  /**
   * Application protocol versions the host accepts.
   * @default {[1]}
   */
  protocolVersions?: readonly number[];
  /**
   * Accept a plugin announcing `tcp` on a loopback address.
   * @default {false}
   */
  allowTcp?: boolean;
  /**
   * go-plugin's AutoMTLS: pass the plugin a one-time client certificate in
   * `PLUGIN_CLIENT_CERT` and require TLS with the server certificate the
   * plugin announces in its handshake (pinned), for its connection and its
   * broker connections. A plugin that announces no certificate is refused.
   * (go-plugin mode only; without it, a plugin announcing a certificate is
   * refused.)
   * @default {false}
   */
  autoMtls?: boolean;
  /**
   * Let a successor adopt this plugin with `Plugin.attach(plugin.reattachConfig())`
   * (go-plugin's `ReattachConfig`; see `reattach.ts`). It relaxes two
   * promises for this plugin only: a Bulkhead plugin's own exit when its
   * host is gone, and its guardian's kill (for a sandboxed executable: its
   * whole sandbox), both happen `reattachWindowMs` after the host is gone
   * when no successor attached, not at once.
   * @default {false}
   */
  reattachable?: boolean;
  /**
   * With `reattachable`: how long the plugin waits for a successor, in milliseconds.
   * @default {10000}
   */
  reattachWindowMs?: number;
  /**
   * How many brokered servers (go-plugin's `plugin.GRPCBroker`) a Deno
   * plugin may have open at once in each direction. Deno grants Unix
   * sockets by exact path, so the host grants the plugin that many socket
   * paths in its socket directory before it starts: `broker-<n>.sock` to
   * dial the host's servers, `plugin-broker-<n>.sock` to serve its own
   * (`src/protocol/broker_sockets.ts`); `plugin.broker.serve` refuses past
   * that many. (An executable sees its whole socket directory and has no
   * such limit.)
   * @default {0}
   */
  brokerSockets?: number;
  /**
   * How many of the plugin's broker announcements (go-plugin's `ConnInfo`
   * on the broker stream) may wait at once for the host to dial them, for
   * every kind of plugin. A plugin announcing more, or an address longer
   * than 512 characters, is killed with that as its exit reason
   * (`info().exitReason`); the host's waiting dials fail saying so.
   * @default {16}
   */
  maxBrokerAnnouncements?: number;
  /**
   * go-plugin ≥ 1.5's multiplexing (`GRPCBrokerMultiplex`): the host sets
   * `PLUGIN_MULTIPLEX_GRPC=true`, the plugin must answer `true` in its
   * handshake's 7th field (else the start fails with a `HandshakeError`),
   * and the host dials the plugin's socket once: every gRPC connection,
   * brokered ones included, is a yamux stream on it, and brokered
   * connections are matched by knocks on the broker stream instead of
   * sockets (a Deno plugin then needs no `brokerSockets`). Always over
   * Bulkhead's own HTTP/2 (whatever `transport` says); not with `autoMtls`
   * (a TypeError) nor `handshake: "none"`.
   * @default {false}
   */
  multiplex?: boolean;
  /**
   * How long the plugin has to print its handshake and answer its first
   * health check, in milliseconds.
   * @default {10000}
   */
  startTimeoutMs?: number;
  /**
   * Whether the start waits until the plugin's health check of service
   * `"plugin"` answers SERVING (a plugin still warming up may answer
   * NOT_SERVING first). With `false` any answer makes the plugin started,
   * e.g. to report a NOT_SERVING plugin's status at once, as
   * `bulkhead health` does. (go-plugin mode only.)
   * @default {true}
   */
  waitForServing?: boolean;
  /**
   * How long each stop step waits, in milliseconds: Shutdown and hanging up,
   * then SIGTERM; then SIGKILL. A stop returns within twice this plus the
   * time to reap the process, whatever the plugin does.
   * @default {2000}
   */
  stopGraceMs?: number;
  /**
   * Largest gRPC message either way, in bytes.
   * @default {4194304}
   */
  maxMessageBytes?: number;
  /**
   * How gRPC messages become bytes and back (the host's side; native transport
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
   * How many stderr lines to keep for error messages.
   * @default {20}
   */
  stderrTailLines?: number;
  /**
   * Receives the plugin's log lines.
   * @default {stderrLogger}
   */
  logger?: Logger;
  /**
   * The gRPC transport.
   * @default {"native"}
   */
  transport?: TransportKind;
  /** Aborts the start (the plugin is killed and cleaned up). */
  signal?: AbortSignal;
  /**
   * How the plugin is launched and says it is ready. With `"none"` the
   * magic cookie, `PLUGIN_*` variables and health checks do not apply:
   * {@linkcode Plugin.health} asks `grpc.health.v1`, which such plugins
   * rarely serve, so supervise them with `healthIntervalMs: 0`.
   * @default {"go-plugin"}
   */
  handshake?: HandshakeMode;
  /**
   * With `handshake: "none"`: the environment variable that carries the
   * socket address, as `unix:<path>`.
   * @default {"REDPANDA_CONNECT_PLUGIN_ADDRESS"}
   */
  addressEnv?: string;
  /**
   * A call that makes the plugin ready (e.g. Redpanda Connect's `Init` with
   * the component's configuration). With `handshake: "none"` it is the
   * readiness probe: called on a fresh connection per attempt, with backoff,
   * while it rejects with a `ConnectError`; any other rejection (the plugin
   * answered and refused) fails the start at once. With `"go-plugin"` it is
   * called once after the health check. Runs again after every restart by a
   * supervisor.
   * @default {none ("none" mode: a grpc.health.v1 check of service "plugin")}
   */
  ready?: PluginCall;
  /**
   * The graceful stop request, in place of go-plugin's
   * `plugin.GRPCController/Shutdown` (e.g. Redpanda Connect's `Close`).
   * Given `stopGraceMs`; SIGTERM and SIGKILL follow as usual.
   * @default {go-plugin's Shutdown}
   */
  shutdown?: PluginCall;
}

/** Options for {@linkcode Plugin.stop}. */
export interface StopOptions {
  /** Overrides the plugin's `stopGraceMs` for this stop. */
  graceMs?: number;
}

/** Options for {@linkcode Plugin.health}. */
export interface HealthOptions {
  /** The service to ask about. @default {"plugin"} */
  service?: string;
  /**
   * How long to wait for the answer, in milliseconds.
   * @default {5000}
   */
  timeoutMs?: number;
  /** Aborts the check. */
  signal?: AbortSignal;
}
