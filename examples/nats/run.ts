/**
 * The NATS example, end to end on one machine: make the streams, publish N
 * messages to IN, run 3 `bulkhead run` hosts of `pipeline.yaml` sharing the
 * durable consumer `workers`, wait until every message was acknowledged,
 * stop the hosts (SIGINT: they drain), and check the output stream OUT:
 * every message there, once.
 *
 *   nats-server -js &
 *   deno run -A examples/nats/run.ts [--url nats://127.0.0.1:4222] [--messages 10000] [--hosts 3]
 *
 * It deletes and re-creates the streams IN and OUT on that server.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { connect } from "../../src/npm/nats.ts";
import {
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "../../src/npm/nats_jetstream.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    url: { type: "string", default: "nats://127.0.0.1:4222" },
    messages: { type: "string", default: "10000" },
    hosts: { type: "string", default: "3" },
  },
});
const url = args.values.url;
const count = Number(args.values.messages);
const hosts = Number(args.values.hosts);
const here = new URL(".", import.meta.url).pathname;

const nc = await connect({ servers: url, noAsyncTraces: true });
const jsm = await jetstreamManager(nc);
for (const name of ["IN", "OUT"]) await jsm.streams.delete(name).catch(() => false);
await jsm.streams.add({
  name: "IN",
  subjects: ["in.>"],
  retention: RetentionPolicy.Workqueue,
  storage: StorageType.File,
});
await jsm.streams.add({ name: "OUT", subjects: ["out.>"], storage: StorageType.File });
const info = async (name: string) => (await jsm.streams.info(name)).state;

// publish N messages (plain publishes; the stream stores them all)
const encoder = new TextEncoder();
for (let i = 1; i <= count; i++) {
  nc.publish("in.work", encoder.encode(`message ${i}`));
  if (i % 1000 === 0) await nc.flush();
}
await nc.flush();
while ((await info("IN")).last_seq < count) await new Promise((r) => setTimeout(r, 20));
console.log(`published ${count} messages to IN`);

// the pipeline, pointed at this server
const pipeline = await Deno.makeTempFile({ suffix: ".yaml" });
const yaml = (await Deno.readTextFile(`${here}pipeline.yaml`))
  .replaceAll("nats://127.0.0.1:4222", url)
  .replace("./plugin.ts", `${here}plugin.ts`);
await Deno.writeTextFile(pipeline, yaml);
const cli = new URL("../../cli.ts", import.meta.url).pathname;
const children = Array.from({ length: hosts }, () =>
  new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, "run", "--json", pipeline],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn());
console.log(`started ${hosts} hosts`);

const started = performance.now();
while ((await info("IN")).messages > 0) await new Promise((r) => setTimeout(r, 100));
const seconds = (performance.now() - started) / 1000;
for (const child of children) child.kill("SIGINT");
const summaries = [];
for (const child of children) {
  const output = await child.output();
  summaries.push(JSON.parse(new TextDecoder().decode(output.stdout)));
}
await Deno.remove(pipeline);

// check OUT: every message once
const seen = new Map<string, number>();
const consumer = await jetstream(nc).consumers.get("OUT");
const total = (await info("OUT")).messages;
let read = 0;
while (read < total) {
  for await (const m of await consumer.fetch({ max_messages: total - read, expires: 2000 })) {
    seen.set(m.string(), (seen.get(m.string()) ?? 0) + 1);
    read++;
  }
}
await nc.close();
let lost = 0;
for (let i = 1; i <= count; i++) if (!seen.has(`MESSAGE ${i}`)) lost++;
const duplicates = total - seen.size;
const perHost = summaries.map((s) => s.messagesOut).join(" + ");
console.log(
  `OUT holds ${total}: lost ${lost}, duplicates ${duplicates}; hosts wrote ${perHost} ` +
    `in ${seconds.toFixed(1)} s (${Math.round(count / seconds)} messages/s)`,
);
Deno.exit(lost === 0 && duplicates === 0 ? 0 : 1);
