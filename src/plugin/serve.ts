/**
 * The plugin side: {@linkcode serve} turns a Deno program into a plugin that
 * any Bulkhead or go-plugin host can start.
 *
 * @module
 */
import type { DescService } from "../npm/protobuf.ts";
import type { ServiceImpl } from "../npm/connect.ts";
import {
  BULKHEAD_COOKIE,
  ENV_HOST_STDIN,
  ENV_PROTOCOL_VERSIONS,
  ENV_SOCKET_PATH,
  ENV_UNIX_SOCKET_DIR,
  formatHandshake,
  type MagicCookie,
  parseVersionList,
} from "../protocol/handshake.ts";
import {
  type ListenTls,
  maxMessageBytes,
  type ServiceRegistration,
  type TransportKind,
} from "../transport/transport.ts";
import { connectorFor } from "../transport/connectors.ts";
import {
  certificateDer,
  ENV_CLIENT_CERT,
  generateCertificate,
  handshakeCertificate,
} from "../protocol/auto_mtls.ts";
import { Health } from "../gen/grpc/health/v1/health_pb.ts";
import { GRPCController } from "../gen/plugin/grpc_controller_pb.ts";
import { GRPCStdio } from "../gen/plugin/grpc_stdio_pb.ts";
import { healthService } from "./health.ts";
import { watchHost } from "./host_watch.ts";
import { reflectionServices, ReflectionV1, ReflectionV1alpha } from "./reflection.ts";
import { GRPCBroker } from "../gen/plugin/grpc_broker_pb.ts";
import { PluginSideBroker } from "./_host_broker.ts";
import type { ServeContext } from "./host_broker.ts";
import { chooseVersion } from "./_versioned_services.ts";

/** A service the plugin offers: the generated descriptor and its implementation. */
export interface PluginService<T extends DescService = DescService> {
  /** The generated service descriptor. */
  service: T;
  /** The implementation; missing methods answer `UNIMPLEMENTED`. */
  implementation: Partial<ServiceImpl<T>>;
}

/**
 * Pairs a service descriptor with its implementation, type-checked.
 *
 * @param service The generated service descriptor.
 * @param implementation Its methods.
 * @returns The pair, for {@linkcode ServeOptions.services}.
 * @example
 * ```ts ignore
 * const greeter = service(GreeterService, { greet: (r) => ({ greeting: `Hello, ${r.name}` }) });
 * ```
 */
export function service<T extends DescService>(
  service: T,
  implementation: Partial<ServiceImpl<T>>,
): PluginService {
  return { service, implementation } as unknown as PluginService;
}

/** A set of services, or a function that makes them from what they may use. */
export type ServiceSet =
  | readonly PluginService[]
  | ((context: ServeContext) => readonly PluginService[]);

/** Options for {@linkcode serve}. */
export interface ServeOptions {
  /**
   * The plugin's services; or a function that makes them, given what they
   * may use: `({ broker, appVersion }) => [...]`, for services that dial
   * the host's brokered servers or serve their own, or that differ by
   * protocol version (see {@linkcode ServeContext}). Give this or `versions`.
   */
  services?: ServiceSet;
  /**
   * One set of services per application protocol version (go-plugin's
   * `VersionedPlugins`): the plugin serves the set of the highest version
   * the host also offers, e.g. `{ 1: [kvV1], 2: [kvV2, watch] }`. Its keys
   * are the versions this plugin speaks. Give this or `services`.
   */
  versions?: Readonly<Record<number, ServiceSet>>;
  /**
   * The application's magic cookie; must match the host's.
   * @default {BULKHEAD_COOKIE}
   */
  cookie?: MagicCookie;
  /**
   * Application protocol versions this plugin speaks (with `services`); the
   * highest one the host also offers is used.
   * @default {[1]}
   */
  protocolVersions?: readonly number[];
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
  /**
   * Settles when the plugin is warmed up (a cache loaded, a model read):
   * until then the health check answers NOT_SERVING, and a host waits
   * before its first call. If it rejects, the plugin prints why on stderr
   * and exits with code 1.
   * @default {ready at once}
   */
  ready?: PromiseLike<unknown>;
  /**
   * Whether to serve gRPC reflection (`grpc.reflection.v1` and `v1alpha`),
   * which `bulkhead inspect` and `bulkhead call` use to find the plugin's
   * methods. Without it, `bulkhead call` needs `--proto` or `--protoset`.
   * @default {true}
   */
  reflection?: boolean;
  /**
   * Stops serving gracefully when aborted: GOAWAY to the host, calls in
   * flight finish, then `serve` resolves.
   */
  signal?: AbortSignal;
}

/**
 * go-plugin's AutoMTLS, plugin side: a one-time server certificate, TLS
 * that accepts only the host's certificate, and the certificate's text for
 * the handshake.
 */
async function autoMtlsServer(clientPem: string): Promise<{ tls: ListenTls; announced: string }> {
  let clientCertificate: Uint8Array;
  try {
    clientCertificate = certificateDer(clientPem);
  } catch {
    refuse(`Cannot serve with AutoMTLS: ${ENV_CLIENT_CERT} holds no PEM certificate`);
  }
  const own = await generateCertificate();
  return {
    tls: { certificate: own.certificate, privateKey: own.privateKey, clientCertificate },
    announced: handshakeCertificate(certificateDer(own.certificate)),
  };
}

async function removeSocket(path: string, ownDir: string | undefined): Promise<void> {
  await Deno.remove(path).catch(() => {});
  if (ownDir) await Deno.remove(ownDir, { recursive: true }).catch(() => {});
}

function refuse(message: string): never {
  const text = `${message}\n`;
  Deno.stderr.writeSync(new TextEncoder().encode(text));
  Deno.exit(1);
}

/**
 * Serves a plugin until its host stops it or goes away, then exits the
 * process. Checks the magic cookie (refusing to run without it, with an
 * explanation on stderr and exit code 1), picks the protocol version,
 * listens on the socket the host chose (or a new one in
 * `PLUGIN_UNIX_SOCKET_DIR`), prints the handshake line as the first bytes on
 * stdout, and serves `services` plus health, reflection, go-plugin's
 * controller, stdio and broker (see {@linkcode ServeContext}). When the
 * host asks for go-plugin's AutoMTLS (`PLUGIN_CLIENT_CERT`), it serves TLS
 * only, with a one-time P-521 certificate announced in the handshake, and
 * accepts only the host's certificate.
 *
 * Print nothing to stdout before calling `serve`: the handshake must be the
 * first line. Log to stderr; the host forwards it line by line.
 *
 * A Deno plugin started by a go-plugin host needs `--allow-env` for the
 * cookie, `PLUGIN_PROTOCOL_VERSIONS` and (AutoMTLS) `PLUGIN_CLIENT_CERT`. A
 * go-plugin host does not choose the socket path, and Deno grants Unix
 * sockets by exact path only, so the plugin needs `--allow-net` and read
 * and write on `PLUGIN_UNIX_SOCKET_DIR` (or the temporary directory) —
 * unless the host sets `BULKHEAD_PLUGIN_SOCKET` in the plugin's
 * environment, which narrows all three to that path. Broker connections
 * under a go-plugin host need `--allow-net` and the temporary directory in
 * any case (its brokered sockets have random names).
 *
 * @param options The services and protocol settings.
 * @returns Resolves when serving stops through `options.signal`. When the host stops the
 *   plugin or goes away, the process exits instead.
 * @example
 * ```ts ignore
 * import { serve, service } from "./serve.ts";
 * import { GreeterService } from "../gen/bulkhead/examples/greeter/v1/greeter_pb.ts";
 * await serve({
 *   services: [service(GreeterService, { greet: (r) => ({ greeting: `Hello, ${r.name}` }) })],
 * });
 * ```
 */
export async function serve(options: ServeOptions): Promise<void> {
  const cookie = options.cookie ?? BULKHEAD_COOKIE;
  const env = (name: string) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined;
    }
  };
  const given = env(cookie.key);
  if (given !== cookie.value) {
    refuse(
      "This program is a plugin: it is meant to be started by its host application, not run by hand.\n" +
        (given === undefined
          ? `(The environment variable ${cookie.key}, this plugin's magic cookie, is not set: ` +
            "a host of another application uses another cookie name.)"
          : `(The environment variable ${cookie.key} is set, but its value differs from this ` +
            "plugin's magic cookie: the host belongs to another application or version.)"),
    );
  }
  const choice = chooseVersion(parseVersionList(env(ENV_PROTOCOL_VERSIONS) ?? ""), options);
  if ("error" in choice) refuse(choice.error);
  const appVersion = choice.appVersion;

  let socketPath = env(ENV_SOCKET_PATH);
  let ownDir: string | undefined; // a directory serve() made, removed with the socket
  if (!socketPath) {
    let dir = env(ENV_UNIX_SOCKET_DIR);
    if (!dir) ownDir = dir = await Deno.makeTempDir({ prefix: "plugin" });
    socketPath = `${dir}/plugin${crypto.randomUUID().slice(0, 8)}.sock`;
  }

  let serving = true;
  let warming = options.ready !== undefined;
  const broker = new PluginSideBroker();
  const services = typeof choice.services === "function"
    ? choice.services({ broker, appVersion })
    : choice.services;
  const pluginServices = services.map((s) => s.service);
  const reflection = reflectionServices([
    ...pluginServices,
    Health,
    GRPCController,
    GRPCStdio,
    GRPCBroker,
    ReflectionV1,
  ]);
  let exitTimer: ReturnType<typeof setTimeout> | undefined;
  const stdinHeld = env(ENV_HOST_STDIN) === "1";
  // Leaving by exit, not by closing the server: a closing server sends
  // GOAWAY, which some HTTP/2 clients handle badly (denoland/deno#36788).
  const exit = async (code: number) => {
    serving = false;
    await broker.close();
    await removeSocket(socketPath, ownDir);
    Deno.exit(code);
  };
  const builtins: ServiceRegistration[] = [
    {
      service: Health,
      implementation: healthService(
        pluginServices.map((s) => s.typeName),
        () => serving && !warming,
      ),
    },
    {
      service: GRPCController,
      implementation: {
        shutdown() {
          // Answer first, then leave without GOAWAY once the host hangs up
          // (a Bulkhead host closes stdin right after), or soon in any case.
          serving = false;
          exitTimer ??= setTimeout(() => exit(0), stdinHeld ? 1000 : 50);
          return {};
        },
      } satisfies Partial<ServiceImpl<typeof GRPCController>>,
    },
    {
      service: GRPCStdio,
      implementation: {
        // deno-lint-ignore require-yield
        async *streamStdio(_request, context) {
          // This SDK's stdout and stderr reach the host through the process's
          // pipes, so the stream stays open and quiet until the call ends.
          await new Promise<void>((resolve) => {
            if (context.signal.aborted) resolve();
            context.signal.addEventListener("abort", () => resolve(), { once: true });
          });
        },
      } satisfies Partial<ServiceImpl<typeof GRPCStdio>>,
    },
    broker.registration(),
    ...(options.reflection === false ? [] : [
      { service: ReflectionV1, implementation: reflection.v1 },
      { service: ReflectionV1alpha, implementation: reflection.v1alpha },
    ]),
  ];
  const connector = await connectorFor(options.transport);
  const maxBytes = maxMessageBytes(options.maxMessageBytes);
  const clientPem = env(ENV_CLIENT_CERT);
  const autoMtls = clientPem ? await autoMtlsServer(clientPem) : undefined;
  const server = await connector.listen(
    socketPath,
    [...services as readonly ServiceRegistration[], ...builtins],
    {
      readMaxBytes: maxBytes,
      writeMaxBytes: maxBytes,
      ...(autoMtls ? { tls: autoMtls.tls } : {}),
      ...(options.codec === undefined ? {} : { codec: options.codec }),
    },
  );
  broker.attach({ connector, socketPath, tls: autoMtls?.tls, maxMessageBytes: maxBytes });
  const line = formatHandshake({
    appVersion,
    network: "unix",
    address: socketPath,
    ...(autoMtls ? { serverCert: autoMtls.announced } : {}),
  });
  const bytes = new TextEncoder().encode(`${line}\n`);
  for (let written = 0; written < bytes.length;) {
    written += Deno.stdout.writeSync(bytes.subarray(written));
  }

  if (options.ready !== undefined) {
    Promise.resolve(options.ready).then(
      () => warming = false,
      (error) => {
        const why = error instanceof Error ? error.message : String(error);
        Deno.stderr.writeSync(new TextEncoder().encode(`Plugin failed to get ready: ${why}\n`));
        void exit(1);
      },
    );
  }

  let stopped!: () => void;
  const done = new Promise<void>((resolve) => stopped = resolve);
  const stopWatch = watchHost({
    stdinHeldByHost: stdinHeld,
    onHostGone: () => void exit(0),
  });
  options.signal?.addEventListener("abort", async () => {
    stopWatch();
    serving = false;
    // calls in flight get a second to finish (the host's stdio stream never does)
    await broker.close();
    await server.shutdown({ graceMs: 1000 });
    await removeSocket(socketPath, ownDir);
    stopped();
  }, { once: true });
  await done;
}
