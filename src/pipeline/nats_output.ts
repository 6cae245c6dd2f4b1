/**
 * The `nats_jetstream` output: publishes every message of a batch to a
 * subject a JetStream stream captures, with up to `max_in_flight`
 * publications awaiting their acknowledgement, and resolves once the
 * stream acknowledged every one (the engine then acknowledges the input).
 *
 * `msg_id: auto` gives each message a deterministic `Nats-Msg-Id` from its
 * origin: the input stream and sequence (`nats_stream`,
 * `nats_sequence_stream` metadata, which processors pass on) and the index
 * of this output among those made from that input message in the batch.
 * A batch written again — after a plugin crash, or by another host after
 * this one died before acknowledging its input — then carries the same ids,
 * and the stream drops the copies within its `duplicate_window`. A message
 * without an origin is published without an id (counted in
 * {@linkcode NatsJetStreamOutput.withoutId}).
 *
 * A publication that fails (server down, no acknowledgement in time) is
 * retried with backoff until it is acknowledged or the output is closed.
 *
 * @module
 */
import { headers as natsHeaders, type MsgHdrs } from "../npm/nats.ts";
import { jetstream } from "../npm/nats_jetstream.ts";
import type { Message, Value } from "../gen/redpanda/runtime/v1alpha1/message_pb.ts";
import { payloadBytes, type PipelineOutput } from "./output.ts";
import type { NatsOutputConfig } from "./nats_config.ts";
import { backoffMs, describeError, NatsLink, sleep } from "./nats_link.ts";

/** Thrown by a write the output's closing interrupted. */
export class NatsOutputClosedError extends Error {
  /**
   * @param subject The output's subject.
   * @param options The cause.
   */
  constructor(subject: string, options?: ErrorOptions) {
    super(`Cannot publish to ${subject}: the nats_jetstream output was closed`, options);
    this.name = "NatsOutputClosedError";
  }
}

/**
 * Publishes batches to JetStream.
 *
 * @example
 * ```ts ignore
 * const output = new NatsJetStreamOutput(config.output.nats);
 * await output.write(messages); // every message acknowledged by the stream
 * await output.close();
 * ```
 */
export class NatsJetStreamOutput implements PipelineOutput {
  readonly name: string;
  readonly #config: NatsOutputConfig;
  readonly #link: NatsLink;
  #retrying: string | undefined;
  #withoutId = 0;
  #duplicates = 0;
  #closed: Promise<void> | undefined;

  /** @param config The output's settings. */
  constructor(config: NatsOutputConfig) {
    this.#config = config;
    this.name = `nats_jetstream ${config.subject}`;
    this.#link = new NatsLink(config.urls, `bulkhead output ${config.subject}`);
  }

  /** Messages published without a `Nats-Msg-Id` although `msg_id` is `auto` (no origin). */
  get withoutId(): number {
    return this.#withoutId;
  }

  /** Publications the stream reported as duplicates (dropped by its deduplication). */
  get duplicates(): number {
    return this.#duplicates;
  }

  /** The link state and the last publish error while retrying, for the progress line. */
  status(): string {
    return `nats ${this.#link.describe()}` +
      (this.#retrying ? `, retrying: ${this.#retrying}` : "");
  }

  async write(messages: readonly Message[]): Promise<void> {
    if (messages.length === 0) return;
    const closing = this.#link.closing;
    const nc = await this.#link.connection();
    if (!nc || closing.aborted) throw new NatsOutputClosedError(this.#config.subject);
    const js = jetstream(nc);
    const ids = this.#config.msgId === "auto" ? this.#ids(messages) : undefined;
    const fixed = Object.entries(this.#config.headers);
    let next = 0;
    const publishOne = async (index: number) => {
      const message = messages[index]!;
      let hdrs: MsgHdrs | undefined;
      if (fixed.length > 0) {
        hdrs = natsHeaders();
        for (const [key, value] of fixed) hdrs.set(key, value);
      }
      const msgID = ids?.[index];
      const options = {
        ...(msgID === undefined ? {} : { msgID }),
        ...(hdrs === undefined ? {} : { headers: hdrs }),
      };
      const data = payloadBytes(message);
      for (let attempt = 0;; attempt++) {
        if (closing.aborted) throw new NatsOutputClosedError(this.#config.subject);
        try {
          const ack = await js.publish(this.#config.subject, data, options);
          if (ack.duplicate) this.#duplicates++;
          this.#retrying = undefined;
          return;
        } catch (error) {
          this.#retrying = describeError(error);
          await sleep(backoffMs(attempt), closing);
        }
      }
    };
    const worker = async () => {
      while (next < messages.length) await publishOne(next++);
    };
    const workers = Math.min(this.#config.maxInFlight, messages.length);
    const results = await Promise.allSettled(Array.from({ length: workers }, worker));
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /** Each message's deterministic id: `stream:sequence:k`, k counting outputs of that origin. */
  #ids(messages: readonly Message[]): (string | undefined)[] {
    const seen = new Map<string, number>();
    return messages.map((message) => {
      const origin = originOf(message);
      if (origin === undefined) {
        this.#withoutId++;
        return undefined;
      }
      const k = seen.get(origin) ?? 0;
      seen.set(origin, k + 1);
      return `${origin}:${k}`;
    });
  }

  close(): Promise<void> {
    return this.#closed ??= this.#link.close();
  }
}

function field(message: Message, key: string): Value | undefined {
  const fields = message.metadata?.fields;
  return fields && Object.hasOwn(fields, key) ? fields[key] : undefined;
}

/** Where a message came from, as its metadata says (`stream:sequence`), if it says. */
export function originOf(message: Message): string | undefined {
  const stream = field(message, "nats_stream")?.kind;
  const sequence = field(message, "nats_sequence_stream")?.kind;
  if (stream?.case !== "stringValue" || sequence === undefined) return undefined;
  if (sequence.case === "integerValue") return `${stream.value}:${sequence.value}`;
  if (sequence.case === "doubleValue" || sequence.case === "stringValue") {
    return `${stream.value}:${sequence.value}`;
  }
  return undefined;
}
