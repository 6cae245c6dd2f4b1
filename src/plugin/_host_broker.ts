/**
 * The implementation of {@linkcode HostBroker} (see `host_broker.ts` for the
 * wire facts; the protocol itself is `src/protocol/broker_endpoint.ts`), and
 * the `plugin.GRPCBroker` service it answers. Internal to `src/plugin/`.
 *
 * @module
 */
import type { HandlerContext, ServiceImpl } from "../npm/connect.ts";
import { type ConnInfo, GRPCBroker } from "../gen/plugin/grpc_broker_pb.ts";
import type {
  DialTls,
  GrpcChannel,
  GrpcConnector,
  ListenTls,
  ServiceRegistration,
} from "../transport/transport.ts";
import type { GrpcMultiplexer } from "../transport/multiplex.ts";
import { BrokerAbuseError } from "../protocol/broker_announcements.ts";
import { BrokerEndpoint } from "../protocol/broker_endpoint.ts";
import { pluginBrokerSocket } from "../protocol/broker_sockets.ts";
import type { HostBroker, HostBrokerDialOptions, HostBrokerServer } from "./host_broker.ts";
import type { PluginService } from "./serve.ts";

/** What the broker needs of `serve()`, known once it listens. */
export interface HostBrokerSetup {
  /** Listens and dials. */
  connector: GrpcConnector;
  /** The plugin's own socket; brokered sockets go next to it. */
  socketPath: string;
  /** The plugin's AutoMTLS server settings, when the host asked for AutoMTLS. */
  tls: ListenTls | undefined;
  /** Largest message either way. */
  maxMessageBytes: number;
  /**
   * The multiplexed connection, when the host asked for it
   * (`PLUGIN_MULTIPLEX_GRPC=true`): brokered servers and dials are streams
   * on it, matched by knocks, instead of sockets.
   */
  multiplexer?: GrpcMultiplexer | undefined;
}

/** go-plugin's broker, plugin side; made by `serve()`, attached once it listens. */
export class PluginSideBroker implements HostBroker {
  #setup: Promise<HostBrokerSetup>;
  #attach!: (setup: HostBrokerSetup) => void;
  readonly #endpoint = new BrokerEndpoint();

  constructor() {
    this.#setup = new Promise((resolve) => this.#attach = resolve);
  }

  /** The protocol end this broker wraps (for a multiplexed session to take knocks). */
  get endpoint(): BrokerEndpoint {
    return this.#endpoint;
  }

  /** Gives the broker what it needs to listen and dial; called once by `serve()`. */
  attach(setup: HostBrokerSetup): void {
    const mux = setup.multiplexer;
    if (mux !== undefined) this.#endpoint.onKnock = (id) => mux.expect(id);
    this.#attach(setup);
  }

  /** The `plugin.GRPCBroker` service for `serve()` to register. */
  registration(): ServiceRegistration {
    return {
      service: GRPCBroker,
      implementation: {
        startStream: (requests, context) => this.#startStream(requests, context),
      } satisfies Partial<ServiceImpl<typeof GRPCBroker>>,
    };
  }

  /** See {@linkcode HostBroker.nextId}. */
  nextId(): number {
    return this.#endpoint.nextId();
  }

  /** See {@linkcode HostBroker.serve}. */
  async serve(id: number, services: readonly PluginService[]): Promise<HostBrokerServer> {
    this.#endpoint.check(id);
    const setup = await this.#setup;
    const mux = setup.multiplexer;
    if (mux !== undefined) {
      // go-plugin announces nothing then: the host knocks on the id to reach it
      const server = mux.serve(id, services as readonly ServiceRegistration[]);
      const close = this.#endpoint.ownServer(server);
      return { id, path: "", close, [Symbol.asyncDispose]: close };
    }
    return await this.#endpoint.serve(id, {
      pathFor: (slot) => pluginBrokerSocket(setup.socketPath, slot),
      listen: async (path, slot) => {
        try {
          return await setup.connector.listen(path, services as readonly ServiceRegistration[], {
            readMaxBytes: setup.maxMessageBytes,
            writeMaxBytes: setup.maxMessageBytes,
            ...(setup.tls ? { tls: setup.tls } : {}),
          });
        } catch (error) {
          const denied = error instanceof Deno.errors.NotCapable ||
            error instanceof Deno.errors.PermissionDenied;
          throw new Error(
            `Cannot serve broker id ${id}: cannot listen on ${path}${
              denied
                ? " (not permitted: a Bulkhead host grants brokered sockets with its brokerSockets option; " +
                  `${slot - 1} brokered server(s) already open)`
                : `: ${(error as Error).message}`
            }`,
            { cause: error },
          );
        }
      },
    });
  }

  /** See {@linkcode HostBroker.dial}. */
  async dial(id: number, options: HostBrokerDialOptions = {}): Promise<GrpcChannel> {
    options.signal?.throwIfAborted();
    this.#endpoint.check(id);
    const setup = await this.#setup;
    const mux = setup.multiplexer;
    if (mux !== undefined) {
      const knock = () =>
        this.#endpoint.knock(id, { timeoutMs: options.timeoutMs, peer: "the host" });
      return this.#endpoint.own(mux.channel(knock));
    }
    const tls: DialTls | undefined = setup.tls && {
      certificate: setup.tls.certificate,
      privateKey: setup.tls.privateKey,
      serverCertificate: setup.tls.clientCertificate,
    };
    return await this.#endpoint.dial(id, {
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      peer: "the host",
      dial: (address) =>
        setup.connector.dial(address, {
          readMaxBytes: setup.maxMessageBytes,
          writeMaxBytes: setup.maxMessageBytes,
          ...(tls ? { tls } : {}),
        }),
    });
  }

  /** Ends the broker: the stream ends, every brokered server and channel closes. Idempotent. */
  close(): Promise<void> {
    return this.#endpoint.close(new Error("Cannot use the broker: the plugin is stopping"));
  }

  #startStream(
    requests: AsyncIterable<ConnInfo>,
    context: HandlerContext,
  ): AsyncGenerator<ConnInfo> {
    const reading = new AbortController();
    const stop = () => reading.abort();
    context.signal.addEventListener("abort", stop, { once: true });
    this.#endpoint.receive(requests).catch((error) => {
      // the host hung up, or broke the stream's bounds: then the broker ends saying so
      if (error instanceof BrokerAbuseError) {
        this.#endpoint.end(
          new Error(`Cannot use the broker: the host ${error.message}`, { cause: error }),
        );
      }
    }).finally(() => {
      context.signal.removeEventListener("abort", stop);
      stop();
    });
    return this.#endpoint.outgoing(reading.signal);
  }
}
