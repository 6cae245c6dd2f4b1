/**
 * go-plugin's GRPCBroker with both ends ours: a Bulkhead host and a
 * sandboxed Deno plugin made with `serve({ services: ({ broker }) => … })`
 * (tests/interop/deno_broker_plugin.ts), callbacks both ways, in plaintext
 * and under AutoMTLS.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Plugin } from "../../mod.ts";
import { createClient } from "../../src/npm/connect.ts";
import {
  type AddRequest,
  Callbacks,
  Counter,
} from "../../src/gen/bulkhead/testing/v1/callback_pb.ts";
import { Health } from "../../src/gen/grpc/health/v1/health_pb.ts";
import { decodeServerCert, generateCertificate } from "../../src/protocol/auto_mtls.ts";
import { connectorFor } from "../../src/transport/connectors.ts";
import { KV_COOKIE } from "../../examples/kv-deno/cookie.ts";
import { assertCleanedUp, memoryLogger, waitFor } from "../_helpers.ts";

const PLUGIN = new URL("../interop/deno_broker_plugin.ts", import.meta.url);
/** The plugin imports the KV example's cookie, outside its own directory. */
const MODULE_ROOT = new URL("../..", import.meta.url).pathname;

function socketDirOf(plugin: Plugin): string {
  return plugin.handshake.address.replace(/\/[^/]+$/, "");
}

function hostCounter(servedBy: string) {
  let total = 0n;
  const callers: string[] = [];
  return {
    callers,
    registration: {
      service: Counter,
      implementation: {
        add(request: AddRequest) {
          callers.push(request.caller);
          return { total: total += request.delta, servedBy };
        },
      },
    },
  };
}

for (const autoMtls of [false, true]) {
  const mode = autoMtls ? "AutoMTLS" : "plaintext";
  Deno.test(`a sandboxed Deno plugin calls back into the host and serves the host through the broker (${mode})`, async (t) => {
    const { logger, records } = memoryLogger();
    const plugin = await Plugin.start({
      module: PLUGIN,
      moduleRoot: MODULE_ROOT,
      cookie: KV_COOKIE,
      brokerSockets: 2,
      autoMtls,
      logger,
    });
    const socketDir = socketDirOf(plugin);
    try {
      assert.deepEqual(plugin.info().sandboxEscapes, []);
      const callbacks = plugin.client(Callbacks);

      await t.step(
        "plugin → host: broker.dial of a host server (plugin.broker.serve)",
        async () => {
          const counter = hostCounter("host");
          const id = plugin.broker.nextId();
          await using server = await plugin.broker.serve(id, [counter.registration]);
          assert.equal(server.path, `${socketDir}/broker-1.sock`);
          const answer = await callbacks.addViaBroker({ brokerId: id, delta: 5n, times: 3 });
          assert.deepEqual([answer.total, answer.servedBy], [15n, "host"]);
          assert.deepEqual(counter.callers, ["deno-plugin", "deno-plugin", "deno-plugin"]);
          // the plugin's stderr line may arrive after its answer
          const logged = await waitFor(
            () => records.some((r) => r.message.includes(`added via broker id ${id}: total 15`)),
            5000,
          );
          assert.ok(logged, "the plugin logged its callback");
        },
      );

      await t.step(
        "host → plugin: plugin.broker.dial of a plugin server (broker.serve)",
        async () => {
          const { brokerId } = await callbacks.serveCounter({});
          await using channel = await plugin.broker.dial(brokerId);
          const counter = createClient(Counter, channel.transport);
          assert.equal((await counter.add({ delta: 4n })).total, 4n);
          const last = await counter.add({ delta: 3n });
          assert.deepEqual([last.total, last.servedBy], [7n, "deno-plugin"]);
        },
      );

      if (autoMtls) {
        await t.step("brokered servers speak only TLS with the pinned peer", async () => {
          const connector = await connectorFor("native");
          const { brokerId } = await callbacks.serveCounter({});
          // the host's own dial pins the plugin's certificate and presents the host's
          await using good = await plugin.broker.dial(brokerId);
          assert.equal((await createClient(Counter, good.transport).add({ delta: 1n })).total, 1n);
          const path = `${socketDir}/plugin-broker-2.sock`;
          await using plain = connector.dial(path);
          await assert.rejects(
            createClient(Health, plain.transport).check({}, { timeoutMs: 3000 }),
          );
          const stranger = await generateCertificate();
          await using other = connector.dial(path, {
            tls: { ...stranger, serverCertificate: decodeServerCert(plugin.handshake.serverCert) },
          });
          await assert.rejects(
            createClient(Counter, other.transport).add({ delta: 1n }, { timeoutMs: 3000 }),
          );
        });
      }

      await t.step(
        "slots are reused, and past brokerSockets the host refuses clearly",
        async () => {
          const a = await plugin.broker.serve(plugin.broker.nextId(), [
            hostCounter("a").registration,
          ]);
          const b = await plugin.broker.serve(plugin.broker.nextId(), [
            hostCounter("b").registration,
          ]);
          assert.deepEqual([a.path, b.path], [
            `${socketDir}/broker-1.sock`,
            `${socketDir}/broker-2.sock`,
          ]);
          await assert.rejects(
            plugin.broker.serve(plugin.broker.nextId(), []),
            /Cannot serve broker id \d+ for plugin "deno_broker_plugin": its 2 brokered socket\(s\) are in use \(raise brokerSockets\)/,
          );
          await a.close();
          const c = await plugin.broker.serve(plugin.broker.nextId(), [
            hostCounter("c").registration,
          ]);
          assert.equal(c.path, `${socketDir}/broker-1.sock`);
          const answer = await callbacks.addViaBroker({ brokerId: c.id, delta: 2n, times: 1 });
          assert.equal(answer.servedBy, "c");
        },
      );
    } finally {
      assert.deepEqual(await plugin.stop(), { code: 0, signal: null });
      assertCleanedUp(plugin.pid, socketDir);
    }
  });
}

Deno.test("without brokerSockets a sandboxed Deno plugin cannot use the broker, and both ends say why", async () => {
  const { logger } = memoryLogger();
  await using plugin = await Plugin.start({
    module: PLUGIN,
    moduleRoot: MODULE_ROOT,
    cookie: KV_COOKIE,
    logger,
  });
  await assert.rejects(
    plugin.client(Callbacks).serveCounter({}),
    /Cannot serve broker id 1: cannot listen on \S+\/plugin-broker-1\.sock \(not permitted: a Bulkhead host grants brokered sockets with its brokerSockets option/,
  );
  await assert.rejects(
    plugin.broker.serve(plugin.broker.nextId(), [hostCounter("host").registration]),
    /Cannot serve broker id 1 for plugin "deno_broker_plugin": it may use no brokered sockets \(start it with brokerSockets\)/,
  );
});

Deno.test("a Deno plugin's broker.dial of an id the host never announces times out, naming it", async () => {
  const { logger } = memoryLogger();
  await using plugin = await Plugin.start({
    module: PLUGIN,
    moduleRoot: MODULE_ROOT,
    cookie: KV_COOKIE,
    brokerSockets: 1,
    logger,
  });
  // open the broker stream (a Bulkhead host opens it on first use)
  await using _server = await plugin.broker.serve(plugin.broker.nextId(), [
    hostCounter("host").registration,
  ]);
  const started = performance.now();
  await assert.rejects(
    plugin.client(Callbacks).addViaBroker({ brokerId: 42, delta: 1n, times: 1 }),
    /Cannot dial broker id 42 of the host: not announced within 5000 ms/,
  );
  assert.ok(performance.now() - started >= 4900);
});
