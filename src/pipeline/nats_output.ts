/**
 * The `nats_jetstream` output: publishes every message of a batch to a
 * subject a JetStream stream captures, with up to `max_in_flight`
 * publications awaiting their acknowledgement, and resolves once the
 * stream acknowledged every one (the engine then acknowledges the input).
 *
 * `msg_id: auto` gives each message a deterministic `Nats-Msg-Id` from its
 * origin: the input stream and sequence (`nats_stream`,
 * `nats_sequence_stream` metadata, which processors pass on; for a built-in
 * input, `generate:<n>` or `<path>:<line>`, see `origin.ts`) and the index
 * of this output among those made from that input message in the batch.
 * A batch written again — after a plugin crash, or by another host after
 * this one died before acknowledging its input — then carries the same ids,
 * and the stream drops the copies within its `duplicate_window`. A message
 * without an origin is published without an id (counted in
 * {@linkcode NatsJetStreamOutput.withoutId}).
 *
 * Publications go out as plain publishes whose replies (the stream's
 * acknowledgements) come back on one subscription of this output, so a
 * batch costs no timer or inbox per message. They leave in the order of
 * the writes, from one queue, whatever the writes overlap: the engine may
 * start a write before the previous one is acknowledged (`ordered`), so
 * the window never drains between batches. Those unanswered for 5 s, or
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
import { backoffMs, NatsLink } from "./nats_link.ts";
import { sleep } from "../_timing.ts";
import { ORIGIN_KEY } from "./origin.ts";

/** How long a publication waits for its acknowledgement before it is sent again. */
const ACK_TIMEOUT_MS = 5000;

/** One write: its messages, which are still unacknowledged, and its promise. */
interface Write {
  data: Uint8Array[];
  headers: (MsgHdrs | undefined)[];
  remaining: number;
  acked: Uint8Array; // 1 once that message was acknowledged
  attempts: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** One publication awaiting its acknowledgement. */
interface Sent {
  write: Write;
  index: number;
  at: number;
}

const decoder = new TextDecoder();

/** A JetStream PubAck read once: acknowledged (maybe as a duplicate) or refused, and why. */
function readPubAck(reply: Uint8Array): { error: string } | { duplicate: boolean } {
  if (reply.length === 0) return { error: "empty reply (no stream captures the subject?)" };
  const text = decoder.decode(reply);
  if (!text.includes('"error"')) {
    return text.includes('"seq"')
      ? { duplicate: text.includes('"duplicate":true') }
      : { error: "unexpected reply" };
  }
  try {
    const parsed = JSON.parse(text) as { error?: { description?: unknown } };
    return { error: `JetStream: ${String(parsed.error?.description ?? "error")}` };
  } catch {
    return { error: "unparsable reply" };
  }
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
  /** Writes may overlap: their publications go out in call order (see the module doc). */
  readonly ordered = true;
  readonly #config: NatsOutputConfig;
  readonly #link: NatsLink;
  readonly #inbox = createInbox();
  /** Publications to send, in order: [write, index]. */
  readonly #queue: [Write, number][] = [];
  #queueHead = 0;
  /** Awaiting their acknowledgement, by reply number (at most max_in_flight). */
  readonly #sent = new Map<number, Sent>();
  readonly #writes = new Set<Write>();
  #sequence = 0;
  #connection: NatsConnection | undefined;
  #connecting: Promise<void> | undefined;
  #replies: Subscription | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
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

  write(messages: readonly Message[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    if (this.#link.closing.aborted) {
      return Promise.reject(new NatsOutputClosedError(this.#config.subject));
    }
    const ids = this.#config.msgId === "auto" ? this.#ids(messages) : undefined;
    const fixed = Object.entries(this.#config.headers);
    const headers = messages.map((_, index) => {
      const msgId = ids?.[index];
      if (fixed.length === 0 && msgId === undefined) return undefined;
      const hdrs = natsHeaders();
      for (const [key, value] of fixed) hdrs.set(key, value);
      if (msgId !== undefined) hdrs.set("Nats-Msg-Id", msgId);
      return hdrs;
    });
    return new Promise<void>((resolve, reject) => {
      const write: Write = {
        data: messages.map(payloadBytes),
        headers,
        remaining: messages.length,
        acked: new Uint8Array(messages.length),
        attempts: 0,
        resolve,
        reject,
      };
      this.#writes.add(write);
      // queued now, in call order, whatever the connection does
      for (let index = 0; index < messages.length; index++) this.#queue.push([write, index]);
      if (this.#connection) this.#pump();
      else this.#connecting ??= this.#connect();
    });
  }

  async #connect(): Promise<void> {
    const nc = await this.#link.connection();
    if (!nc || this.#link.closing.aborted) return;
    this.#connection = nc;
    this.#replies = nc.subscribe(`${this.#inbox}.*`, {
      callback: (_error, msg) => {
        const number = Number(msg.subject.slice(this.#inbox.length + 1));
        this.#answer(number, msg.data);
      },
    });
    this.#timer = setInterval(() => this.#expire(), ACK_TIMEOUT_MS / 5);
    this.#pump();
  }

  /** Sends queued publications while fewer than max_in_flight await their acknowledgement. */
  #pump(): void {
    const nc = this.#connection;
    if (!nc) return;
    const max = this.#config.maxInFlight;
    const subject = this.#config.subject;
    try {
      while (this.#sent.size < max && this.#queueHead < this.#queue.length) {
        const [write, index] = this.#queue[this.#queueHead++]!;
        if (write.acked[index] === 1) continue;
        const number = ++this.#sequence;
        this.#sent.set(number, { write, index, at: performance.now() });
        const headers = write.headers[index];
        nc.publish(subject, write.data[index]!, {
          reply: `${this.#inbox}.${number}`,
          ...(headers ? { headers } : {}),
        });
      }
    } catch (error) {
      // the connection was closed under us: every write fails
      this.#failAll(error);
    }
    if (this.#queueHead > 4096 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#queueHead);
      this.#queueHead = 0;
    }
  }

  #answer(number: number, reply: Uint8Array): void {
    const sent = this.#sent.get(number);
    if (!sent) return; // late: already sent again
    this.#sent.delete(number);
    const { write, index } = sent;
    const ack = readPubAck(reply);
    if ("duplicate" in ack) {
      if (ack.duplicate) this.#duplicates++;
      if (write.acked[index] === 0) {
        write.acked[index] = 1;
        if (--write.remaining === 0) {
          this.#writes.delete(write);
          write.resolve();
        }
      }
      this.#retrying = undefined;
      this.#pump();
    } else this.#again([sent], ack.error);
  }

  /** Publications unanswered for ACK_TIMEOUT_MS are sent again. */
  #expire(): void {
    const now = performance.now();
    const late: Sent[] = [];
    for (const [number, sent] of this.#sent) {
      if (now - sent.at < ACK_TIMEOUT_MS) break; // in send order
      this.#sent.delete(number);
      late.push(sent);
    }
    if (late.length > 0) this.#again(late, `no acknowledgement in ${ACK_TIMEOUT_MS} ms`);
  }

  /** Sends publications again after a backoff (their writes keep waiting). */
  #again(failed: Sent[], reason: string): void {
    this.#retrying = reason;
    const write = failed[0]!.write;
    const delay = backoffMs(write.attempts++);
    void sleep(delay, this.#link.closing).then((full) => {
      if (!full) return;
      for (const { write, index } of failed) this.#queue.push([write, index]);
      this.#pump();
    });
  }

  #failAll(error: unknown): void {
    const closed = new NatsOutputClosedError(this.#config.subject, { cause: error });
    for (const write of this.#writes) write.reject(closed);
    this.#writes.clear();
    this.#sent.clear();
    this.#queue.length = 0;
    this.#queueHead = 0;
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

  /** Closes: writes still waiting fail with {@linkcode NatsOutputClosedError}. Idempotent. */
  close(): Promise<void> {
    return this.#closed ??= (async () => {
      clearInterval(this.#timer);
      this.#failAll(undefined);
      const closing = this.#link.close();
      await this.#connecting;
      this.#replies?.unsubscribe();
      clearInterval(this.#timer);
      await closing;
    })();
  }
}

function field(message: Message, key: string): Value | undefined {
  const fields = message.metadata?.fields;
  return fields && Object.hasOwn(fields, key) ? fields[key] : undefined;
}

/**
 * Where a message came from, as its metadata says: `stream:sequence` of a
 * `nats_jetstream` input, or the `bulkhead_origin` a built-in input stamped
 * (`generate:<n>`, `<path>:<line>`); `undefined` when it says nothing.
 */
export function originOf(message: Message): string | undefined {
  const stream = field(message, "nats_stream")?.kind;
  const sequence = field(message, "nats_sequence_stream")?.kind;
  if (stream?.case === "stringValue" && sequence !== undefined) {
    if (
      sequence.case === "integerValue" || sequence.case === "doubleValue" ||
      sequence.case === "stringValue"
    ) return `${stream.value}:${sequence.value}`;
  }
  const origin = field(message, ORIGIN_KEY)?.kind;
  return origin?.case === "stringValue" ? origin.value : undefined;
}
