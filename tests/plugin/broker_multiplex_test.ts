/**
 * go-plugin ≥ 1.5's multiplexed broker (`PLUGIN_MULTIPLEX_GRPC=true`) with
 * both ends ours: a Bulkhead host started with `multiplex: true` and the
 * sandboxed Deno SDK plugin of tests/interop/deno_broker_plugin.ts. One
 * socket connection carries everything (yamux); brokered connections are
 * streams matched by knocks, so the sandboxed plugin needs no brokered
 * socket grants (`brokerSockets: 0`).
 *
 * @module
 */
import assert from "node:assert/strict";
import { HandshakeError, Plugin } from "../../mod.ts";
import { createClient } from "../../src/npm/connect.ts";
import {
  type AddRequest,
  Callbacks,
  Counter,
} from "../../src/gen/bulkhead/testing/v1/callback_pb.ts";
import { KV_COOKIE } from "../../examples/kv-deno/cookie.ts";
import { assertCleanedUp, memoryLogger, PYTHON } from "../_helpers.ts";
import { named, noPython } from "../interop/_toolchains.ts";

const PLUGIN = new URL("../interop/deno_broker_plugin.ts", import.meta.url);
const MODULE_ROOT = new URL("../..", import.meta.url).pathname;

function hostCounter(servedBy: string) {
  let total = 0n;
  return {
    service: Counter,
    implementation: {
      add: (request: AddRequest) => ({ total: total += request.delta, servedBy }),
    },
  };
}

Deno.test("a multiplexing host and the Deno SDK plugin call each other through the broker over one connection", async (t) => {
  const { logger } = memoryLogger();
  const plugin = await Plugin.start({
    module: PLUGIN,
    moduleRoot: MODULE_ROOT,
    cookie: KV_COOKIE,
    multiplex: true,
    logger,
  });
  const socketDir = plugin.handshake.address.replace(/\/[^/]+$/, "");
  try {
    assert.match(plugin.handshake.line, /\|grpc\|\|true$/);
    assert.equal(plugin.handshake.mux, true);
    const callbacks = plugin.client(Callbacks);

    await t.step("plugin → host: a knock, then a stream to the host's server", async () => {
      const id = plugin.broker.nextId();
      await using server = await plugin.broker.serve(id, [hostCounter("host")]);
      assert.equal(server.path, "", "no socket: a stream of the connection");
      const answer = await callbacks.addViaBroker({ brokerId: id, delta: 5n, times: 3 });
      assert.deepEqual([answer.total, answer.servedBy], [15n, "host"]);
    });

    await t.step("host → plugin: a knock, then a stream to the plugin's server", async () => {
      const { brokerId } = await callbacks.serveCounter({});
      await using channel = await plugin.broker.dial(brokerId);
      const counter = createClient(Counter, channel.transport);
      assert.equal((await counter.add({ delta: 4n })).total, 4n);
      const last = await counter.add({ delta: 3n });
      assert.deepEqual([last.total, last.servedBy], [7n, "deno-plugin"]);
    });

    await t.step("several brokered servers at once, each reached by its own id", async () => {
      const ids = [plugin.broker.nextId(), plugin.broker.nextId(), plugin.broker.nextId()];
      const servers = await Promise.all(
        ids.map((id) => plugin.broker.serve(id, [hostCounter(`host-${id}`)])),
      );
      try {
        const answers = await Promise.all(
          ids.map((id) => callbacks.addViaBroker({ brokerId: id, delta: 1n, times: 2 })),
        );
        assert.deepEqual(
          answers.map((a) => [a.total, a.servedBy]),
          ids.map((id) => [2n, `host-${id}`]),
        );
      } finally {
        await Promise.all(servers.map((s) => s.close()));
      }
    });

    await t.step("a knock on an id nobody serves is refused, naming it", async () => {
      await assert.rejects(
        plugin.broker.dial(999).then((channel) =>
          createClient(Counter, channel.transport).add({ delta: 1n }).finally(() => channel.close())
        ),
        /Cannot dial broker id 999 of plugin "deno_broker_plugin": no server for broker id 999/,
      );
    });
  } finally {
    assert.deepEqual(await plugin.stop(), { code: 0, signal: null });
    assertCleanedUp(plugin.pid, socketDir);
  }
});

Deno.test({
  name: named(
    "multiplex: true refuses a plugin that does not offer it, as go-plugin does",
    noPython,
  ),
  ignore: noPython !== undefined,
  async fn() {
    const { logger } = memoryLogger();
    // under AutoMTLS the SDK cannot multiplex: it answers false in the 7th field
    await assert.rejects(
      Plugin.start({
        module: PLUGIN,
        moduleRoot: MODULE_ROOT,
        cookie: KV_COOKIE,
        multiplex: true,
        autoMtls: true,
        logger,
      }),
      TypeError,
    );
    const python = new URL("../../examples/kv-python/kv_plugin.py", import.meta.url).pathname;
    const error = await Plugin.start({
      command: PYTHON,
      args: [python],
      cookie: KV_COOKIE,
      multiplex: true,
      logger,
    }).then(() => undefined, (e) => e);
    if (error instanceof HandshakeError) assert.equal(error.reason, "mux");
    else assert.fail(`expected a HandshakeError, got ${error}`);
  },
});
