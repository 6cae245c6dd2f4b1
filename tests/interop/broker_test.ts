/**
 * go-plugin's GRPCBroker both ways with a go-plugin 1.0.1 Go plugin
 * (tests/interop/broker_plugin): the plugin calls back into a Counter the
 * TypeScript host serves, and the host dials a Counter the plugin serves.
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
import { assertCleanedUp } from "../_helpers.ts";
import { goBinaries, KV_COOKIE, named, noGo } from "./_toolchains.ts";

async function startBrokerPlugin(): Promise<Plugin> {
  const { brokerPlugin } = await goBinaries();
  return await Plugin.start({
    command: brokerPlugin,
    cookie: KV_COOKIE,
    logger: () => {},
    stopGraceMs: 3000,
  });
}

function socketDirOf(plugin: Plugin): string {
  return plugin.handshake.address.replace(/\/[^/]+$/, "");
}

Deno.test({
  name: named(
    "a go-plugin plugin calls back into a host service through plugin.broker.serve",
    noGo,
  ),
  ignore: noGo !== undefined,
  async fn() {
    const plugin = await startBrokerPlugin();
    const socketDir = socketDirOf(plugin);
    try {
      let total = 0n;
      const callers: string[] = [];
      const id = plugin.broker.nextId();
      assert.equal(id, 1);
      const server = await plugin.broker.serve(id, [{
        service: Counter,
        implementation: {
          add(request: AddRequest) {
            callers.push(request.caller);
            total += request.delta;
            return { total, servedBy: "host" };
          },
        },
      }]);
      assert.equal(server.path, `${socketDir}/broker-1.sock`);
      const callbacks = plugin.client(Callbacks);
      const answer = await callbacks.addViaBroker({ brokerId: id, delta: 5n, times: 3 });
      assert.equal(answer.total, 15n);
      assert.equal(answer.servedBy, "host");
      assert.deepEqual(callers, ["plugin", "plugin", "plugin"]);

      // a second server under another id, while the first still runs
      const second = await plugin.broker.serve(plugin.broker.nextId(), [{
        service: Counter,
        implementation: { add: (r: AddRequest) => ({ total: r.delta * 100n, servedBy: "host-2" }) },
      }]);
      const again = await callbacks.addViaBroker({ brokerId: second.id, delta: 2n, times: 1 });
      assert.deepEqual([again.total, again.servedBy], [200n, "host-2"]);

      await server.close();
      await server.close(); // idempotent
      assert.throws(() => Deno.lstatSync(server.path), Deno.errors.NotFound);
      // `second` is closed by the plugin's stop
    } finally {
      assert.deepEqual(await plugin.stop(), { code: 0, signal: null });
      assertCleanedUp(plugin.pid, socketDir);
    }
  },
});

Deno.test({
  name: named(
    "the host dials a service a go-plugin plugin serves through plugin.broker.dial",
    noGo,
  ),
  ignore: noGo !== undefined,
  async fn() {
    const plugin = await startBrokerPlugin();
    const socketDir = socketDirOf(plugin);
    try {
      const { brokerId } = await plugin.client(Callbacks).serveCounter({});
      await using channel = await plugin.broker.dial(brokerId);
      const counter = createClient(Counter, channel.transport);
      assert.deepEqual(
        [(await counter.add({ delta: 4n })).total, (await counter.add({ delta: 3n })).total],
        [4n, 7n],
      );
      assert.equal((await counter.add({ delta: 0n })).servedBy, "plugin");

      // an id nobody announces times out, naming the id
      await assert.rejects(
        plugin.broker.dial(999, { timeoutMs: 200 }),
        /Cannot dial broker id 999 of plugin "broker_plugin": not announced within 200 ms/,
      );
    } finally {
      assert.deepEqual(await plugin.stop(), { code: 0, signal: null });
      assertCleanedUp(plugin.pid, socketDir);
    }
  },
});

Deno.test({
  name: named("plugin.broker refuses new work once the plugin has stopped, which ends it", noGo),
  ignore: noGo !== undefined,
  async fn() {
    const plugin = await startBrokerPlugin();
    const { brokerId } = await plugin.client(Callbacks).serveCounter({});
    const pending = assert.rejects(
      plugin.broker.dial(brokerId + 1, { timeoutMs: 10_000 }),
      /Cannot use the broker of plugin "broker_plugin"/,
    );
    // the broker stream and Shutdown race on one connection: HEADERS must
    // still go out in stream id order, or grpc-go drops the connection and
    // Shutdown never arrives (the plugin would need SIGTERM)
    assert.deepEqual(await plugin.stop(), { code: 0, signal: null });
    await pending;
    await assert.rejects(
      plugin.broker.serve(1, []),
      /Cannot use the broker of plugin "broker_plugin"/,
    );
  },
});
