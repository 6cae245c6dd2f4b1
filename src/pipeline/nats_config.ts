/**
 * The `nats_jetstream` input and output of a pipeline: their YAML fields
 * (Redpanda Connect's names) read into typed settings.
 *
 * ```yaml
 * input:
 *   nats_jetstream:
 *     urls: [nats://127.0.0.1:4222]
 *     stream: orders
 *     durable: bulkhead       # one durable pull consumer shared by every host
 *     subject: orders.>       # filter (optional)
 *     ack_wait: 30s
 *     max_ack_pending: 1024
 *     batch: 100
 * output:
 *   nats_jetstream:
 *     urls: [nats://127.0.0.1:4222]
 *     subject: orders.done
 *     headers: { Source: bulkhead }
 *     max_in_flight: 1024
 *     msg_id: auto           # deterministic Nats-Msg-Id: a re-sent batch is deduplicated
 * ```
 *
 * @module
 */
import type { ConfigReader, Field } from "./_config_reader.ts";

/** A `nats_jetstream` input: one durable pull consumer, shared by every host that names it. */
export interface NatsInputConfig {
  /** Server URLs, tried in turn (`nats://host:port`). */
  urls: string[];
  /** The stream the consumer reads. */
  stream: string;
  /** The durable consumer's name. */
  durable: string;
  /** Use the consumer as it exists (never create or update it). */
  bind: boolean;
  /** Only messages on this subject (wildcards allowed), when the consumer is created. */
  subject: string | undefined;
  /** How long the server waits for an acknowledgement before redelivering, in milliseconds. */
  ackWaitMs: number;
  /** Most messages delivered and not yet acknowledged, over all hosts. */
  maxAckPending: number;
  /** Most messages per fetch (one input chunk). */
  batch: number;
}

/** A `nats_jetstream` output: publishes with JetStream acknowledgements. */
export interface NatsOutputConfig {
  /** Server URLs, tried in turn. */
  urls: string[];
  /** The subject every message is published on (a stream must capture it). */
  subject: string;
  /** Headers set on every message. */
  headers: Record<string, string>;
  /** Most publications awaiting their acknowledgement at once. */
  maxInFlight: number;
  /** `auto`: a deterministic `Nats-Msg-Id` from the message's origin; `none`: no id. */
  msgId: "auto" | "none";
}

const INPUT_FIELDS = [
  "urls",
  "stream",
  "durable",
  "bind",
  "subject",
  "ack_wait",
  "max_ack_pending",
  "batch",
] as const;
const OUTPUT_FIELDS = ["urls", "subject", "headers", "max_in_flight", "msg_id"] as const;

/**
 * Reads the fields of `input: nats_jetstream`.
 *
 * @param r The reader (problems are recorded there).
 * @param at The `nats_jetstream` field.
 * @returns The settings, or `undefined` when a field is wrong.
 */
export function readNatsInput(r: ConfigReader, at: Field): NatsInputConfig | undefined {
  const before = r.issues.length;
  r.map(at, INPUT_FIELDS);
  const urls = readUrls(r, r.child(at, "urls"));
  const stream = required(r, r.child(at, "stream"));
  const durable = required(r, r.child(at, "durable"));
  for (const [field, name] of [["stream", stream], ["durable", durable]] as const) {
    if (name !== undefined && !/^[^\s.*>/\\]+$/.test(name)) {
      r.fail(r.child(at, field), `not a valid name (no spaces, '.', '*', '>', '/'): ${name}`);
    }
  }
  const ackWaitMs = r.duration(r.child(at, "ack_wait")) ?? 30_000;
  if (ackWaitMs < 300) r.fail(r.child(at, "ack_wait"), "must be at least 300ms");
  const config: NatsInputConfig = {
    urls,
    stream: stream ?? "",
    durable: durable ?? "",
    bind: r.boolean(r.child(at, "bind")) ?? false,
    subject: r.string(r.child(at, "subject")),
    ackWaitMs,
    maxAckPending: r.integer(r.child(at, "max_ack_pending"), 1) ?? 1024,
    batch: r.integer(r.child(at, "batch"), 1) ?? 100,
  };
  return r.issues.length > before ? undefined : config;
}

/**
 * Reads the fields of `output: nats_jetstream`.
 *
 * @param r The reader (problems are recorded there).
 * @param at The `nats_jetstream` field.
 * @returns The settings, or `undefined` when a field is wrong.
 */
export function readNatsOutput(r: ConfigReader, at: Field): NatsOutputConfig | undefined {
  const before = r.issues.length;
  r.map(at, OUTPUT_FIELDS);
  const urls = readUrls(r, r.child(at, "urls"));
  const subject = required(r, r.child(at, "subject"));
  if (subject !== undefined && /[\s*>]/.test(subject)) {
    r.fail(r.child(at, "subject"), `must be a plain subject (no spaces or wildcards): ${subject}`);
  }
  const msgIdField = r.child(at, "msg_id");
  const msgId = r.string(msgIdField) ?? "none";
  if (msgId !== "auto" && msgId !== "none") {
    r.fail(msgIdField, `must be auto or none, got ${msgId}`);
  }
  const config: NatsOutputConfig = {
    urls,
    subject: subject ?? "",
    headers: r.stringMap(r.child(at, "headers")) ?? {},
    maxInFlight: r.integer(r.child(at, "max_in_flight"), 1) ?? 1024,
    msgId: msgId === "auto" ? "auto" : "none",
  };
  return r.issues.length > before ? undefined : config;
}

function required(r: ConfigReader, field: Field): string | undefined {
  const value = r.string(field);
  if (value === undefined && !r.has(field)) return r.fail(field, "missing");
  return value;
}

function readUrls(r: ConfigReader, field: Field): string[] {
  const urls = r.strings(field) ?? ["nats://127.0.0.1:4222"];
  for (const url of urls) {
    if (!/^(nats|tls):\/\/[^\s/]+$/.test(url) && !/^[^\s/:]+:\d+$/.test(url)) {
      r.fail(field, `not a NATS server URL (nats://host:port): ${url}`);
    }
  }
  if (urls.length === 0) r.fail(field, "must not be empty");
  return urls;
}
