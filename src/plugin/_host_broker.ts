/**
 * The implementation of {@linkcode HostBroker} (see `host_broker.ts` for the
 * wire facts), and the `plugin.GRPCBroker` service it answers. Internal to
 * `src/plugin/`.
 *
 * @module
 */
import type { HandlerContext, ServiceImpl } from "../npm/connect.ts";
import { create } from "../npm/protobuf.ts";
import { type ConnInfo, ConnInfoSchema, GRPCBroker } from "../gen/plugin/grpc_broker_pb.ts";
import type {
  DialTls,
  GrpcChannel,
  GrpcConnector,
  GrpcServer,
  ListenTls,
  ServiceRegistration,
} from "../transport/transport.ts";
import { BrokerAbuseError, BrokerAnnouncements } from "../protocol/broker_announcements.ts";
import { BrokerResources } from "../protocol/broker_resources.ts";
import { addressOf, pluginBrokerSocket } from "../protocol/broker_sockets.ts";
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
}

/** go-plugin's broker, plugin side; made by `serve()`, attached once it listens. */
export class PluginSideBroker implements HostBroker {
  #setup: Promise<HostBrokerSetup>;
  #attach!: (setup: HostBrokerSetup) => void;
  #lastId = 0;
  #outbox: ConnInfo[] = [];
  #stream = 0; // the newest StartStream call; older ones end
  #pokes = new Set<() => void>();
  #announcements = new BrokerAnnouncements();
  #owned = new BrokerResources();
  #closing: Promise<void> | undefined;

  constructor() {
    this.#setup = new Promise((resolve) => this.#attach = resolve);
  }

  /** Gives the broker what it needs to listen and dial; called once by `serve()`. */
  attach(setup: HostBrokerSetup): void {
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
    return ++this.#lastId;
  }

  /** See {@linkcode HostBroker.serve}. */
  async serve(id: number, services: readonly PluginService[]): Promise<HostBrokerServer> {
    this.#announcements.check(id);
    const setup = await this.#setup;
    const slot = this.#owned.reserveSlot();
    const path = pluginBrokerSocket(setup.socketPath, slot);
    let server: GrpcServer;
    try {
      server = await setup.connector.listen(path, services as readonly ServiceRegistration[], {
        readMaxBytes: setup.maxMessageBytes,
        writeMaxBytes: setup.maxMessageBytes,
        ...(setup.tls ? { tls: setup.tls } : {}),
      });
    } catch (error) {
      this.#owned.releaseSlot(slot);
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
    const close = this.#owned.addServer(server, slot);
    if (this.#announcements.ended !== undefined) {
      await close();
      throw this.#announcements.ended;
    }
    this.#outbox.push(create(ConnInfoSchema, { serviceId: id, network: "unix", address: path }));
    this.#poke();
    return { id, path, close, [Symbol.asyncDispose]: close };
  }

  /** See {@linkcode HostBroker.dial}. */
  async dial(id: number, options: HostBrokerDialOptions = {}): Promise<GrpcChannel> {
    options.signal?.throwIfAborted();
    this.#announcements.check(id);
    const setup = await this.#setup;
    const info = await this.#announcements.wait(id, {
      timeoutMs: options.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
      peer: "the host",
    });
    if (info.network !== "unix" && info.network !== "tcp") {
      throw new Error(
        `Cannot dial broker id ${id} of the host: network "${info.network}" is not supported (${info.address})`,
      );
    }
    const address = addressOf(info.network, info.address);
    const tls: DialTls | undefined = setup.tls && {
      certificate: setup.tls.certificate,
      privateKey: setup.tls.privateKey,
      serverCertificate: setup.tls.clientCertificate,
    };
    const channel = setup.connector.dial(address, {
      readMaxBytes: setup.maxMessageBytes,
      writeMaxBytes: setup.maxMessageBytes,
      ...(tls ? { tls } : {}),
    });
    const close = this.#owned.addChannel(channel);
    return { transport: channel.transport, close, [Symbol.asyncDispose]: close };
  }

  /** Ends the broker: the stream ends, every brokered server and channel closes. Idempotent. */
  close(): Promise<void> {
    return this.#closing ??= (async () => {
      this.#end(new Error("Cannot use the broker: the plugin is stopping"));
      await this.#owned.closeAll();
    })();
  }

  #poke(): void {
    const pokes = [...this.#pokes];
    this.#pokes.clear();
    for (const poke of pokes) poke();
  }

  #end(error: Error): void {
    this.#announcements.end(error);
    this.#poke();
  }

  async *#startStream(
    requests: AsyncIterable<ConnInfo>,
    context: HandlerContext,
  ): AsyncGenerator<ConnInfo> {
    const stream = ++this.#stream;
    this.#poke(); // an older stream ends
    let reading = true;
    void (async () => {
      try {
        for await (const info of requests) {
          // a knock belongs to go-plugin's multiplexed mode, which this plugin does not offer
          if (info.knock?.knock) continue;
          this.#announcements.announce(info);
        }
      } catch (error) {
        // the host hung up, or broke the stream's bounds: then the broker ends saying so
        if (error instanceof BrokerAbuseError) {
          this.#end(
            new Error(`Cannot use the broker: the host ${error.message}`, { cause: error }),
          );
        }
      } finally {
        reading = false;
        this.#poke();
      }
    })();
    const onAbort = () => this.#poke();
    context.signal.addEventListener("abort", onAbort, { once: true });
    try {
      while (
        reading && !context.signal.aborted && stream === this.#stream && !this.#announcements.ended
      ) {
        const next = this.#outbox.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => this.#pokes.add(resolve));
      }
    } finally {
      context.signal.removeEventListener("abort", onAbort);
    }
  }
}
