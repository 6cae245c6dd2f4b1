/**
 * The `nats_jetstream` input: a durable pull consumer that every host of a
 * pipeline shares, so hosts divide the stream between them.
 *
 * Delivery: a chunk (one fetch, up to `batch` messages) is acknowledged
 * message by message only once the output wrote every message of it, or
 * the dead-letter output did (a dead-lettered message is acknowledged,
 * never `nak`ed: it would come back for ever). From the moment a message
 * is fetched until it is acknowledged — waiting in this input, in a plugin,
 * through a plugin restart or a bisection — it is kept alive with
 * `working()` every `ack_wait / 3`, so the server does not give it to
 * another host. A host that dies stops sending those: after `ack_wait` the
 * server redelivers its messages to the others.
 *
 * Outages: fetches that fail (server down, heartbeats missed, consumer not
 * found yet) are retried with backoff, for ever; the connection reconnects
 * by itself; {@linkcode NatsJetStreamInput.status} tells the progress line.
 * Closing stops fetching, gives back (`nak`) what was fetched but never
 * read, flushes the acknowledgements, and closes the connection.
 *
 * Metadata, as Redpanda Connect names it: `nats_subject`,
 * `nats_sequence_stream`, `nats_sequence_consumer`, `nats_num_delivered`,
 * `nats_num_pending`, `nats_domain`, `nats_timestamp_unix_nano`, plus
 * `nats_stream` and every header (its first value) under its own name.
 *
 * @module
 */
import { create } from "../npm/protobuf.ts";
import { nanos, type NatsConnection } from "../npm/nats.ts";
import {
  AckPolicy,
  type Consumer,
  type ConsumerMessages,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JsMsg,
} from "../npm/nats_jetstream.ts";
import {
  type Message,
  MessageSchema,
  StructValueSchema,
  type Value,
  ValueSchema,
} from "../gen/redpanda/runtime/v1alpha1/message_pb.ts";
import type { InputChunk, PipelineInput } from "./input.ts";
import type { NatsInputConfig } from "./nats_config.ts";
import { backoffMs, describeError, NatsLink } from "./nats_link.ts";
import { sleep } from "../_timing.ts";

/** What the fetch loop is doing (a tagged union). */
type FetchState =
  | { t: "starting" }
  | { t: "fetching" }
  | { t: "full" }
  | { t: "retrying"; attempt: number; error: string }
  | { t: "stopped" };

/** Most header metadata keys taken from one message (the rest are dropped). */
const MAX_HEADERS = 64;

/**
 * Reads a JetStream stream through a shared durable pull consumer.
 *
 * @example
 * ```ts ignore
 * const input = new NatsJetStreamInput(config.input.nats);
 * const chunk = await input.read(signal);
 * await chunk?.ack();
 * await input.close();
 * ```
 */
export class NatsJetStreamInput implements PipelineInput {
  readonly name: string;
  readonly #config: NatsInputConfig;
  readonly #link: NatsLink;
  /** Fetched, not yet read by the engine (at most `batch` plus one fetch). */
  readonly #queue: JsMsg[] = [];
  /** Read by the engine, not yet acknowledged. */
  readonly #held = new Set<JsMsg[]>();
  readonly #keepAlive: ReturnType<typeof setInterval>;
  readonly #loop: Promise<void>;
  readonly #stopping = new AbortController();
  #fetch: ConsumerMessages | undefined;
  #state: FetchState = { t: "starting" };
  #lag: number | undefined;
  #wakeReader: (() => void) | undefined;
  #wakeFetcher: (() => void) | undefined;
  #closed: Promise<void> | undefined;

  /** @param config The input's settings. */
  constructor(config: NatsInputConfig) {
    this.#config = config;
    this.name = `nats_jetstream ${config.stream}/${config.durable}`;
    this.#link = new NatsLink(config.urls, `bulkhead ${this.name}`);
    this.#keepAlive = setInterval(() => this.#touch(), Math.max(100, config.ackWaitMs / 3));
    this.#loop = this.#fetchLoop();
  }

  /** The link and fetch state, for the progress line (e.g. `nats connected, fetching`). */
  status(): string {
    const s = this.#state;
    const fetch = s.t === "retrying" ? `retrying (attempt ${s.attempt}: ${s.error})` : s.t;
    return `nats ${this.#link.describe()}, ${fetch}`;
  }

  /** Messages in the stream not yet delivered to the consumer, as of the last message fetched. */
  lag(): number | undefined {
    return this.#lag;
  }

  /** Messages fetched and not yet acknowledged by this host. */
  get unacknowledged(): number {
    let held = 0;
    for (const chunk of this.#held) held += chunk.length;
    return this.#queue.length + held;
  }

  async read(signal: AbortSignal): Promise<InputChunk | null> {
    while (this.#queue.length === 0) {
      if (signal.aborted || this.#stopping.signal.aborted) return null;
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener("abort", done);
          this.#wakeReader = undefined;
          resolve();
        };
        this.#wakeReader = done;
        signal.addEventListener("abort", done, { once: true });
      });
    }
    const taken = this.#queue.splice(0, this.#config.batch);
    this.#wakeFetcher?.();
    this.#held.add(taken);
    const messages = taken.map(toMessage);
    let acked = false;
    return {
      messages,
      ack: () => {
        if (acked) return Promise.resolve();
        acked = true;
        this.#held.delete(taken);
        // acknowledged, never nak: a dead-lettered message was handled too
        try {
          for (const m of taken) m.ack();
        } catch {
          // the connection closed: the server redelivers them after ack_wait (at-least-once)
        }
        return Promise.resolve();
      },
    };
  }

  close(): Promise<void> {
    return this.#closed ??= (async () => {
      this.#stopping.abort();
      this.#wakeReader?.();
      this.#wakeFetcher?.();
      this.#fetch?.stop();
      // still connecting: closing the link ends that; nothing was fetched
      if (this.#link.state.t !== "connected") await this.#link.close();
      await this.#loop;
      clearInterval(this.#keepAlive);
      // fetched but never read: back to the stream now rather than after ack_wait
      try {
        for (const m of this.#queue.splice(0)) m.nak();
      } catch {
        // the connection is gone: they come back after ack_wait
      }
      await this.#link.close(); // flushes acknowledgements and naks first
      this.#state = { t: "stopped" };
    })();
  }

  /** Keeps every fetched, unacknowledged message alive on the server. */
  #touch(): void {
    if (this.#link.state.t !== "connected") return;
    try {
      for (const m of this.#queue) m.working();
      for (const chunk of this.#held) for (const m of chunk) m.working();
    } catch {
      // the connection closed between the check and the publish: nothing to keep alive
    }
  }

  async #fetchLoop(): Promise<void> {
    const closing = this.#stopping.signal;
    let consumer: Consumer | undefined;
    let attempt = 0;
    while (!closing.aborted) {
      if (this.#queue.length >= this.#config.batch) {
        this.#state = { t: "full" };
        await new Promise<void>((resolve) => this.#wakeFetcher = resolve);
        this.#wakeFetcher = undefined;
        continue;
      }
      try {
        const nc = await this.#link.connection();
        if (!nc) break;
        consumer ??= await this.#consumer(nc);
        this.#state = { t: "fetching" };
        const fetch = await consumer.fetch({
          max_messages: this.#config.batch,
          expires: 5000,
        });
        this.#fetch = fetch;
        if (closing.aborted) fetch.stop();
        for await (const m of fetch) {
          this.#queue.push(m);
          this.#lag = m.info.pending;
          this.#wakeReader?.();
        }
        this.#fetch = undefined;
        attempt = 0;
      } catch (error) {
        this.#fetch = undefined;
        if (closing.aborted) break;
        consumer = undefined; // it may have been deleted or the stream re-created
        attempt++;
        this.#state = { t: "retrying", attempt, error: describeError(error) };
        await sleep(backoffMs(attempt), closing);
      }
    }
  }

  async #consumer(nc: NatsConnection): Promise<Consumer> {
    const { stream, durable } = this.#config;
    if (!this.#config.bind) {
      const jsm = await jetstreamManager(nc);
      try {
        await jsm.consumers.add(stream, {
          durable_name: durable,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          ack_wait: nanos(this.#config.ackWaitMs),
          max_ack_pending: this.#config.maxAckPending,
          ...(this.#config.subject === undefined ? {} : { filter_subject: this.#config.subject }),
        });
      } catch (error) {
        // another host created it first with other settings: use it as it is
        await jsm.consumers.info(stream, durable).catch(() => {
          throw error;
        });
      }
    }
    return await jetstream(nc).consumers.get(stream, durable);
  }
}

// A Value is a plain object in protobuf-es 2 (its type name and its one
// field): written directly, eight per message cost a third of create()'s time.
const VALUE = ValueSchema.typeName as "redpanda.runtime.v1alpha1.Value";

function integer(value: number): Value {
  return { $typeName: VALUE, kind: { case: "integerValue", value: BigInt(value) } };
}

function text(value: string): Value {
  return { $typeName: VALUE, kind: { case: "stringValue", value } };
}

function toMessage(m: JsMsg): Message {
  const info = m.info;
  const fields: Record<string, Value> = {};
  if (m.headers) {
    let count = 0;
    for (const [key, values] of m.headers) {
      if (++count > MAX_HEADERS) break;
      // a header name may be "__proto__": define, never assign
      Object.defineProperty(fields, key, {
        value: text(values[0] ?? ""),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  fields.nats_subject = text(m.subject);
  fields.nats_stream = text(info.stream);
  fields.nats_sequence_stream = integer(info.streamSequence);
  fields.nats_sequence_consumer = integer(info.deliverySequence);
  fields.nats_num_delivered = integer(info.deliveryCount);
  fields.nats_num_pending = integer(info.pending);
  fields.nats_domain = text(info.domain);
  fields.nats_timestamp_unix_nano = integer(info.timestampNanos);
  return create(MessageSchema, {
    payload: { case: "bytes", value: m.data },
    metadata: create(StructValueSchema, { fields }),
  });
}
