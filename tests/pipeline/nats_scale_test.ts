/**
 * Several `bulkhead run` hosts (real subprocesses) share one durable
 * JetStream consumer: kill one mid-run, restart the server mid-run — and
 * nothing is lost.
 */
import assert from "node:assert/strict";
import { isAlive, waitFor } from "../_helpers.ts";
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
/** CI-sized: 30 000 messages; ack_wait 2 s so recovery is quick. */
const MESSAGES = 30_000;
const ACK_WAIT = "2s";

function pipeline(url: string, extra = ""): string {
  return `
input:
  nats_jetstream:
    urls: ["${url}"]
    stream: IN
    durable: workers
    ack_wait: ${ACK_WAIT}
    max_ack_pending: ${MESSAGES}
    batch: 500
batching: { count: 500, period: 20ms }
max_in_flight: 4
processors:
  - plugin: { module: ${PLUGIN}${extra} }
output:
  nats_jetstream:
    urls: ["${url}"]
    subject: out.done
    max_in_flight: 512
    msg_id: auto
`;
}

function expected(count: number): Set<string> {
  return new Set(Array.from({ length: count }, (_, i) => `M${i + 1}`));
}

/** What the output stream holds against what was sent: lost and duplicated messages. */
function tally(out: string[], count: number): { lost: number; duplicates: number } {
  const want = expected(count);
  const seen = new Set(out);
  let lost = 0;
  for (const m of want) if (!seen.has(m)) lost++;
  return { lost, duplicates: out.length - seen.size };
}

Deno.test({
  name:
    "3 hosts share a durable consumer: SIGKILL one mid-run, 0 lost, 0 duplicates in the output stream, its plugins gone within 2 s",
  ignore: ignoreWithoutNats,
  fn: async () => {
    await using server = await NatsServer.start();
    await using dir = await tempDir();
    await using nc = await testClient(server.url);
    await createStream(nc, "IN", ["in.>"], { retention: "workqueue" });
    await createStream(nc, "OUT", ["out.>"]);
    await publishNumbered(nc, "IN", "in.work", MESSAGES);
    const file = `${dir.path}/pipeline.yaml`;
    await Deno.writeTextFile(file, pipeline(server.url));

    await using a = new PipelineHost(file);
    await using b = new PipelineHost(file, true);
    await using c = new PipelineHost(file);
    // K: a third of the stream is out, and host b wrote some of it: every host is mid-run
    const k = MESSAGES / 3;
    const address = await b.metricsAddress;
    let bWrote = 0;
    while (bWrote < 1500) {
      await new Promise((r) => setTimeout(r, 50));
      bWrote = (await scrape(address)).get("bulkhead_messages_out_total") ?? 0;
    }
    await waitForCount(nc, "OUT", (n) => n >= k, 120_000);
    const plugins = b.descendants();
    assert.ok(plugins.length >= 1, "host b runs its plugin");
    const killedAt = performance.now();
    b.child.kill("SIGKILL");
    await b.child.status;
    const gone = await waitFor(() => !plugins.some(isAlive), 2000);
    for (const pid of plugins.filter(isAlive)) Deno.kill(pid, "SIGKILL");
    assert.ok(gone, `host b's plugins outlived it by 2 s: ${plugins}`);

    // done: every input message acknowledged (a work queue then holds none)
    await waitForCount(nc, "IN", (n) => n === 0, 120_000);
    const recoveredMs = performance.now() - killedAt;
    a.child.kill("SIGINT");
    c.child.kill("SIGINT");
    const [ra, rc] = [await a.result(), await c.result()];
    assert.equal(ra.code, 130, a.lines.join("\n"));
    assert.equal(rc.code, 130, c.lines.join("\n"));

    const out = await readStream(nc, "OUT");
    const { lost, duplicates } = tally(out, MESSAGES);
    const written = Number(ra.summary?.messagesOut) + Number(rc.summary?.messagesOut);
    console.log(
      `kill test: ${MESSAGES} messages, 3 hosts, host b SIGKILLed at ${k} out (${bWrote}+ by b); lost ${lost}, ` +
        `duplicates in OUT ${duplicates}; surviving hosts wrote ${written}; ` +
        `kill → input fully acknowledged ${
          (recoveredMs / 1000).toFixed(1)
        } s (ack_wait ${ACK_WAIT})`,
    );
    assert.equal(lost, 0);
    assert.equal(duplicates, 0);
    assert.equal(out.length, MESSAGES);
  },
});

Deno.test({
  name: "nats-server restarted mid-run (SIGTERM, same store and port): 0 lost",
  ignore: ignoreWithoutNats,
  fn: async () => {
    const count = 10_000;
    await using server = await NatsServer.start();
    await using dir = await tempDir();
    const file = `${dir.path}/pipeline.yaml`;
    await Deno.writeTextFile(file, pipeline(server.url));
    {
      await using nc = await testClient(server.url);
      await createStream(nc, "IN", ["in.>"], { retention: "workqueue" });
      await createStream(nc, "OUT", ["out.>"]);
      await publishNumbered(nc, "IN", "in.work", count);
    }
    await using a = new PipelineHost(file);
    await using b = new PipelineHost(file);
    {
      await using nc = await testClient(server.url);
      await waitForCount(nc, "OUT", (n) => n >= count / 4, 120_000);
    }
    const restartedAt = performance.now();
    await server.restart();
    await using nc = await testClient(server.url);
    await waitForCount(nc, "IN", (n) => n === 0, 120_000);
    const recoveredMs = performance.now() - restartedAt;
    a.child.kill("SIGINT");
    b.child.kill("SIGINT");
    const [ra, rb] = [await a.result(), await b.result()];
    assert.equal(ra.code, 130, a.lines.join("\n"));
    assert.equal(rb.code, 130, b.lines.join("\n"));
    const out = await readStream(nc, "OUT");
    const { lost, duplicates } = tally(out, count);
    console.log(
      `server restart: ${count} messages, 2 hosts; lost ${lost}, duplicates in OUT ${duplicates}; ` +
        `restart → input fully acknowledged ${(recoveredMs / 1000).toFixed(1)} s`,
    );
    assert.equal(lost, 0);
  },
});
