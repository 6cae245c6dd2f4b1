/**
 * The nats_jetstream output on a real nats-server: acknowledged
 * publication, headers, and `msg_id: auto` deduplication of a re-sent run.
 */
import assert from "node:assert/strict";
import { jetstream } from "../../src/npm/nats_jetstream.ts";
import { parsePipelineConfig, runPipeline } from "../../mod.ts";
import {
  createStream,
  ignoreWithoutNats,
  NatsServer,
  readStream,
  testClient,
} from "../nats_server.ts";
import { tempDir } from "./_pipeline.ts";

Deno.test({
  name:
    "nats_jetstream output: msg_id auto makes a re-sent generate or file run a no-op in the stream",
  ignore: ignoreWithoutNats,
  fn: async (t) => {
    await using server = await NatsServer.start();
    await using nc = await testClient(server.url);
    await using dir = await tempDir();
    await createStream(nc, "OUT", ["out.>"]);
    await Deno.writeTextFile(`${dir.path}/in.txt`, "a\nb\na\n");
    const output =
      `output: { nats_jetstream: { urls: ["${server.url}"], subject: out.x, msg_id: auto, headers: { Source: test } } }`;
    const run = (input: string) =>
      runPipeline(
        parsePipelineConfig(`input: ${input}\nbatching: { count: 7 }\n${output}\n`, {
          dir: dir.path,
        }),
      );
    await t.step("generate: 100 messages, twice", async () => {
      for (let round = 0; round < 2; round++) {
        const summary = await run(`{ generate: { count: 100, message: "g\${! i }" } }`);
        assert.equal(summary.status, "completed", summary.error);
        assert.equal(summary.messagesOut, 100);
      }
      assert.equal((await readStream(nc, "OUT")).length, 100);
    });
    await t.step("file: 3 lines (two alike), twice", async () => {
      for (let round = 0; round < 2; round++) {
        const summary = await run(`{ file: { path: in.txt } }`);
        assert.equal(summary.status, "completed", summary.error);
      }
      const out = await readStream(nc, "OUT");
      assert.deepEqual(out.slice(100), ["a", "b", "a"]);
    });
    await t.step("the id and the headers are on the stored message", async () => {
      const m = await (await jetstream(nc).consumers.get("OUT")).next();
      assert.equal(m?.headers?.get("Nats-Msg-Id"), "generate:1:0");
      assert.equal(m?.headers?.get("Source"), "test");
      m?.ack();
    });
  },
});
