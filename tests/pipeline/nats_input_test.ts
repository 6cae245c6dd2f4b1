/**
 * The nats_jetstream input's keep-alive, and `/metrics` against the
 * summary, on a real nats-server with real `bulkhead run` hosts.
 */
import assert from "node:assert/strict";
import {
  createStream,
  ignoreWithoutNats,
  NatsServer,
  PipelineHost,
  publishNumbered,
  readStream,
  scrape,
  testClient,
  waitForCount,
} from "../nats_server.ts";
import { tempDir } from "./_pipeline.ts";

const PLUGIN = new URL("../../examples/nats/plugin.ts", import.meta.url).pathname;

function pipeline(
  url: string,
  options: { ackWait: string; batch: number; plugin: string },
): string {
  return `
input:
  nats_jetstream:
    urls: ["${url}"]
    stream: IN
    durable: workers
    ack_wait: ${options.ackWait}
    batch: ${options.batch}
batching: { count: ${options.batch}, period: 10ms }
processors:
  - plugin: { module: ${PLUGIN}, ${options.plugin} }
output:
  nats_jetstream: { urls: ["${url}"], subject: out.done }
`;
}

Deno.test({
  name:
    "nats_jetstream input: a batch held 3× ack_wait by a slow plugin is not delivered to another host",
  ignore: ignoreWithoutNats,
  fn: async () => {
    await using server = await NatsServer.start();
    await using dir = await tempDir();
    await using nc = await testClient(server.url);
    await createStream(nc, "IN", ["in.>"], { retention: "workqueue" });
    await createStream(nc, "OUT", ["out.>"]);
    const file = `${dir.path}/pipeline.yaml`;
    // ack_wait 1 s; the plugin holds the batch with "slow" in it 3 s
    await Deno.writeTextFile(
      file,
      pipeline(server.url, { ackWait: "1s", batch: 1, plugin: "config: { slow_ms: 3000 }" }),
    );
    await using a = new PipelineHost(file);
    await using b = new PipelineHost(file);
    nc.publish("in.work", new TextEncoder().encode("slow"));
    await publishNumbered(nc, "IN", "in.work", 20);
    await waitForCount(nc, "IN", (n) => n === 0, 120_000);
    a.child.kill("SIGINT");
    b.child.kill("SIGINT");
    const [ra, rb] = [await a.result(), await b.result()];
    assert.equal(ra.code, 130, a.lines.join("\n"));
    assert.equal(rb.code, 130, b.lines.join("\n"));
    const out = await readStream(nc, "OUT");
    // no msg_id: a second delivery would show as a second SLOW
    assert.equal(out.filter((m) => m === "SLOW").length, 1, out.join(","));
    assert.equal(out.length, 21);
    assert.equal(Number(ra.summary?.messagesOut) + Number(rb.summary?.messagesOut), 21);
  },
});

Deno.test({
  name:
    "bulkhead run --metrics-addr: /metrics scraped during a run, its counters match the summary",
  ignore: ignoreWithoutNats,
  fn: async () => {
    const count = 5000;
    await using server = await NatsServer.start();
    await using dir = await tempDir();
    await using nc = await testClient(server.url);
    await createStream(nc, "IN", ["in.>"], { retention: "workqueue" });
    await createStream(nc, "OUT", ["out.>"]);
    await publishNumbered(nc, "IN", "in.work", count);
    const file = `${dir.path}/pipeline.yaml`;
    await Deno.writeTextFile(
      file,
      pipeline(server.url, { ackWait: "10s", batch: 100, plugin: "" }),
    );
    await using host = new PipelineHost(file, true);
    const address = await host.metricsAddress;
    const live = await fetch(`http://${address}/live`);
    assert.equal(live.status, 200);
    await live.body?.cancel();
    const during = await scrape(address);
    await waitForCount(nc, "IN", (n) => n === 0, 120_000);
    const ready = await fetch(`http://${address}/ready`);
    assert.equal(ready.status, 200);
    await ready.body?.cancel();
    const after = await scrape(address);
    host.child.kill("SIGINT");
    const { code, summary } = await host.result();
    assert.equal(code, 130, host.lines.join("\n"));
    assert.ok(summary);
    assert.ok((during.get("bulkhead_messages_out_total") ?? 0) <= count);
    assert.equal(after.get("bulkhead_up"), 1);
    assert.equal(after.get("bulkhead_messages_in_total"), summary.messagesIn);
    assert.equal(after.get("bulkhead_messages_out_total"), summary.messagesOut);
    assert.equal(after.get("bulkhead_messages_dead_lettered_total"), summary.deadLetters);
    assert.equal(after.get("bulkhead_batches_total"), summary.batches);
    assert.equal(after.get("bulkhead_batches_in_flight"), 0);
    assert.equal(after.get("bulkhead_input_lag_messages"), 0);
    assert.equal(summary.messagesOut, count);
    const stage = (summary.stages as { name: string; calls: number; restarts: number }[])[0]!;
    const label = `{stage="${stage.name}"}`;
    assert.equal(after.get(`bulkhead_stage_call_duration_seconds_count${label}`), stage.calls);
    assert.equal(
      after.get(`bulkhead_stage_call_duration_seconds_bucket{stage="${stage.name}",le="+Inf"}`),
      stage.calls,
    );
    assert.equal(after.get(`bulkhead_stage_restarts_total${label}`), stage.restarts);
  },
});

Deno.test({
  name:
    "nats_jetstream input: a host started while the server is down waits (/ready 503), then runs when it comes up",
  ignore: ignoreWithoutNats,
  fn: async () => {
    const count = 2000;
    await using server = await NatsServer.start();
    await using dir = await tempDir();
    {
      await using nc = await testClient(server.url);
      await createStream(nc, "IN", ["in.>"], { retention: "workqueue" });
      await createStream(nc, "OUT", ["out.>"]);
      await publishNumbered(nc, "IN", "in.work", count);
    }
    await server.stop();
    const file = `${dir.path}/pipeline.yaml`;
    await Deno.writeTextFile(
      file,
      pipeline(server.url, { ackWait: "10s", batch: 100, plugin: "" }),
    );
    await using host = new PipelineHost(file, true);
    const address = await host.metricsAddress;
    const readyStatus = async () => {
      const response = await fetch(`http://${address}/ready`);
      await response.body?.cancel();
      return response.status;
    };
    // the pipeline runs (plugin started) but its input cannot connect
    while ((await scrape(address)).get("bulkhead_up") !== 1) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(await readyStatus(), 503);
    await server.restart(); // same port, same store
    await using nc = await testClient(server.url);
    await waitForCount(nc, "IN", (n) => n === 0, 120_000);
    assert.equal(await readyStatus(), 200);
    host.child.kill("SIGINT");
    const { code, summary } = await host.result();
    assert.equal(code, 130, host.lines.join("\n"));
    assert.equal(summary?.messagesOut, count);
    assert.equal((await readStream(nc, "OUT")).length, count);
  },
});
