import assert from "node:assert/strict";
import { parsePipelineConfig, PipelineConfigError } from "../../mod.ts";

Deno.test("parsePipelineConfig() reads nats_jetstream input and output with Redpanda Connect's names", () => {
  const config = parsePipelineConfig(`
input:
  nats_jetstream:
    urls: [nats://a:4222, nats://b:4222]
    stream: IN
    durable: workers
    subject: in.>
    ack_wait: 5s
    max_ack_pending: 5000
    batch: 250
output:
  nats_jetstream: { urls: nats://a:4222, subject: out.done, headers: { Source: x }, max_in_flight: 64, msg_id: auto }
`);
  assert.deepEqual(config.input, {
    kind: "nats_jetstream",
    nats: {
      urls: ["nats://a:4222", "nats://b:4222"],
      stream: "IN",
      durable: "workers",
      bind: false,
      subject: "in.>",
      ackWaitMs: 5000,
      maxAckPending: 5000,
      batch: 250,
    },
  });
  assert.deepEqual(config.output, {
    kind: "nats_jetstream",
    nats: {
      urls: ["nats://a:4222"],
      subject: "out.done",
      headers: { Source: "x" },
      maxInFlight: 64,
      msgId: "auto",
    },
  });
});

Deno.test("parsePipelineConfig() reports every nats_jetstream problem with its line", () => {
  let text = "";
  try {
    parsePipelineConfig(
      `input:
  nats_jetstream:
    urls: [http://x]
    durable: a.b
    ack_wait: 10ms
output:
  nats_jetstream: { subject: "out.*", msg_id: sometimes }
`,
    );
  } catch (error) {
    assert.ok(error instanceof PipelineConfigError);
    text = error.message;
  }
  for (
    const expected of [
      "pipeline.yaml:3: input.nats_jetstream.urls: not a NATS server URL",
      "input.nats_jetstream.stream: missing",
      "pipeline.yaml:4: input.nats_jetstream.durable: not a valid name",
      "pipeline.yaml:5: input.nats_jetstream.ack_wait: must be at least 300ms",
      "output.nats_jetstream.subject: must be a plain subject",
      "output.nats_jetstream.msg_id: must be auto or none, got sometimes",
    ]
  ) assert.ok(text.includes(expected), `${expected}\nnot in:\n${text}`);
});
