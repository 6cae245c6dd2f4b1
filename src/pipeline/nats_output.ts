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
 * Publications go out as plain publishes whose replies (the stream's
 * acknowledgements) come back on one subscription of this output, so a
 * batch costs no timer or inbox per message. Those unanswered for 5 s, or
 * refused (server down, no stream), are sent again with backoff until
 * acknowledged or the output is closed.
 *
 * @module
 */
import {
  createInbox,
  headers as natsHeaders,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from "../npm/nats.ts";
import type { Message, Value } from "../gen/redpanda/runtime/v1alpha1/message_pb.ts";
import { payloadBytes, type PipelineOutput } from "./output.ts";
import type { NatsOutputConfig } from "./nats_config.ts";
import { backoffMs, describeError, NatsLink, sleep } from "./nats_link.ts";

/** How long a round of publications waits for the next acknowledgement before sending again. */
const ACK_TIMEOUT_MS = 5000;

interface Outgoing {
  data: Uint8Array;
  headers: MsgHdrs | undefined;
}

const decoder = new TextDecoder();

/** A JetStream PubAck's error description, or `undefined` when it acknowledges. */
function pubAckError(reply: Uint8Array): string | undefined {
  if (reply.length === 0) return "empty reply (no stream captures the subject?)";
  const text = decoder.decode(reply);
  if (!text.includes('"error"')) return text.includes('"seq"') ? undefined : `unexpected reply`;
  try {
    const parsed = JSON.parse(text) as { error?: { description?: unknown } };
    return `JetStream: ${String(parsed.error?.description ?? "error")}`;
  } catch {
    return "unparsable reply";
  }
}

function isDuplicate(reply: Uint8Array): boolean {
  return decoder.decode(reply).includes('"duplicate":true');
}

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
  readonly #inbox = createInbox();
  readonly #handlers = new Map<number, (index: number, reply: Uint8Array) => void>();
  #replies: Subscription | undefined;
  #rounds = 0;
  #lastError: Error | undefined;
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
    const ids = this.#config.msgId === "auto" ? this.#ids(messages) : undefined;
    const fixed = Object.entries(this.#config.headers);
    const outgoing = messages.map((message, index): Outgoing => {
      const msgId = ids?.[index];
      let hdrs: MsgHdrs | undefined;
      if (fixed.length > 0 || msgId !== undefined) {
        hdrs = natsHeaders();
        for (const [key, value] of fixed) hdrs.set(key, value);
        if (msgId !== undefined) hdrs.set("Nats-Msg-Id", msgId);
      }
      return { data: payloadBytes(message), headers: hdrs };
    });
    const remaining = new Set(outgoing.keys());
    for (let attempt = 0; remaining.size > 0; attempt++) {
      if (closing.aborted) throw new NatsOutputClosedError(this.#config.subject);
      if (attempt > 0) await sleep(backoffMs(attempt - 1), closing);
      try {
        await this.#round(nc, outgoing, remaining);
      } catch (error) {
        this.#retrying = describeError(error);
      }
    }
    this.#retrying = undefined;
  }

  /**
   * Publishes every message in `remaining` once, up to `max_in_flight`
   * awaiting their acknowledgement, each reply on this output's inbox;
   * removes the acknowledged. Ends when every one was answered, or when no
   * answer came for {@linkcode ACK_TIMEOUT_MS} (the rest are sent again).
   */
  #round(nc: NatsConnection, outgoing: Outgoing[], remaining: Set<number>): Promise<void> {
    this.#replies ??= this.#subscribe(nc);
    const round = ++this.#rounds;
    const prefix = `${this.#inbox}.${round}.`;
    const queue = [...remaining];
    const subject = this.#config.subject;
    const max = this.#config.maxInFlight;
    return new Promise<void>((resolve, reject) => {
      let cursor = 0;
      let inFlight = 0;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let lastAnswer = performance.now();
      const finish = (error?: unknown) => {
        clearTimeout(timer);
        this.#handlers.delete(round);
        if (error === undefined) resolve();
        else reject(error);
      };
      // one timer per round, not per answer: when it fires, it looks at the last answer
      const check = () => {
        const quiet = performance.now() - lastAnswer;
        if (quiet >= ACK_TIMEOUT_MS) {
          finish(new Error(`no acknowledgement in ${ACK_TIMEOUT_MS} ms`));
        } else timer = setTimeout(check, ACK_TIMEOUT_MS - quiet);
      };
      const pump = () => {
        try {
          while (inFlight < max && cursor < queue.length) {
            const index = queue[cursor++]!;
            const message = outgoing[index]!;
            inFlight++;
            nc.publish(subject, message.data, {
              reply: `${prefix}${index}`,
              ...(message.headers ? { headers: message.headers } : {}),
            });
          }
        } catch (error) {
          return finish(error);
        }
        if (inFlight === 0 && cursor >= queue.length) finish(this.#lastError);
      };
      this.#lastError = undefined;
      this.#handlers.set(round, (index, reply) => {
        if (!remaining.has(index)) return;
        inFlight--;
        const error = pubAckError(reply);
        if (error === undefined) {
          remaining.delete(index);
          if (isDuplicate(reply)) this.#duplicates++;
        } else this.#lastError = new Error(error);
        lastAnswer = performance.now();
        pump();
      });
      timer = setTimeout(check, ACK_TIMEOUT_MS);
      pump();
    });
  }

  #subscribe(nc: NatsConnection): Subscription {
    return nc.subscribe(`${this.#inbox}.>`, {
      callback: (_error, msg) => {
        // subject: <inbox>.<round>.<index>
        const parts = msg.subject.slice(this.#inbox.length + 1).split(".");
        const handler = this.#handlers.get(Number(parts[0]));
        const index = Number(parts[1]);
        if (handler && Number.isSafeInteger(index)) handler(index, msg.data);
      },
    });
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
    return this.#closed ??= (async () => {
      this.#replies?.unsubscribe();
      await this.#link.close();
    })();
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
