/**
 * Pipelines on NATS JetStream, end to end: input stream → 1, 2, 3
 * `bulkhead run` hosts (subprocesses, the NATS example's Deno plugin,
 * `msg_id: auto`) → output stream; beside, in the same run and on the same
 * server, the raw nats.js rates of the two halves a host does: consume +
 * ack alone, and publish with acks alone (512 in flight, as the output).
 *
 * A host run fills the input stream first, starts its hosts (with the
 * Deno plugin as processor, or none: the NATS halves and the engine alone),
 * and times from the first host's `/ready` (its pipeline runs) until the
 * output stream holds every message.
 *
 * Run: `deno task bench:nats [messages]` (default 30000). Prints a table
 * and one JSON line per figure. Nothing here is asserted anywhere.
 *
 * @module
 */
import { AckPolicy, jetstream, jetstreamManager } from "../src/npm/nats_jetstream.ts";
import {
  createStream,
  NATS_SERVER,
  NatsServer,
  PipelineHost,
  publishNumbered,
  testClient,
  waitForCount,
} from "../tests/nats_server.ts";

const count = Number(Deno.args[0] ?? 30_000);
const plugin = new URL("../examples/nats/plugin.ts", import.meta.url).pathname;
if (!NATS_SERVER) throw new Error("Cannot run bench:nats: nats-server is not installed");

await using server = await NatsServer.start();
await using nc = await testClient(server.url);
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);
const encoder = new TextEncoder();
const rows: [string, number][] = [];

async function fresh(): Promise<void> {
  for (const name of ["IN", "OUT"]) await jsm.streams.delete(name).catch(() => false);
  await createStream(nc, "IN", ["in.>"], { retention: "workqueue" });
  await createStream(nc, "OUT", ["out.>"]);
}

function rate(label: string, started: number): void {
  const perSecond = Math.round(count / ((performance.now() - started) / 1000));
  rows.push([label, perSecond]);
  console.log(JSON.stringify({ bench: "nats", label, messages: count, perSecond }));
}

// raw half 1: publish with acknowledgements, 512 in flight
await fresh();
{
  const started = performance.now();
  let next = 1;
  const worker = async () => {
    while (next <= count) await js.publish("out.raw", encoder.encode(`message ${next++}`));
  };
  await Promise.all(Array.from({ length: 512 }, worker));
  rate("raw publish + ack (512 in flight)", started);
}

// raw half 2: consume (batch 1000) + ack each message
await fresh();
await publishNumbered(nc, "IN", "in.work", count);
{
  await jsm.consumers.add("IN", { durable_name: "raw", ack_policy: AckPolicy.Explicit });
  const consumer = await js.consumers.get("IN", "raw");
  const started = performance.now();
  const messages = await consumer.consume({ max_messages: 1000 });
  let seen = 0;
  for await (const m of messages) {
    m.ack();
    if (++seen === count) break;
  }
  await nc.flush();
  rate("raw consume + ack (batch 1000)", started);
}

for (const processor of [true, false]) {
  for (const hosts of [1, 2, 3]) {
    await fresh();
    const dir = await Deno.makeTempDir();
    const file = `${dir}/pipeline.yaml`;
    await Deno.writeTextFile(
      file,
      `input:
  nats_jetstream:
    urls: ["${server.url}"]
    stream: IN
    durable: workers
    ack_wait: 30s
    max_ack_pending: ${count}
    batch: 1000
batching: { count: 1000, period: 10ms }
max_in_flight: 4
${processor ? `processors:\n  - plugin: { module: ${plugin} }\n` : ""}output:
  nats_jetstream: { urls: ["${server.url}"], subject: out.done, max_in_flight: 512, msg_id: auto }
`,
    );
    // the stream is full before the hosts start; time runs from the first host's /ready
    // (its pipeline runs: plugins started, input opened)
    await publishNumbered(nc, "IN", "in.work", count);
    const running = Array.from({ length: hosts }, () => new PipelineHost(file, true));
    try {
      const addresses = await Promise.all(running.map((host) => host.metricsAddress));
      const isReady = (address: string) =>
        fetch(`http://${address}/ready`).then((r) => (r.body?.cancel(), r.status === 200));
      while (!(await Promise.all(addresses.map(isReady))).some((ready) => ready)) {
        await new Promise((r) => setTimeout(r, 10));
      }
      const started = performance.now();
      await waitForCount(nc, "OUT", (n) => n >= count, 600_000);
      const what = processor ? "Deno plugin" : "no processor";
      rate(`end to end, ${hosts} host${hosts > 1 ? "s" : ""}, ${what}`, started);
    } finally {
      for (const host of running) host.child.kill("SIGINT");
      for (const host of running) await host.result();
      await Deno.remove(dir, { recursive: true });
    }
  }
}

const slower = Math.min(rows[0]![1], rows[1]![1]);
console.log(`\n${count} messages, nats-server ${server.url}, one run (machine shared: see load)`);
console.log(`load average: ${Deno.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
for (const [label, perSecond] of rows) {
  const ratio = label.startsWith("end") ? ` (${(perSecond / slower).toFixed(2)}× slower half)` : "";
  console.log(`${label.padEnd(44)} ${String(perSecond).padStart(8)} msgs/s${ratio}`);
}
