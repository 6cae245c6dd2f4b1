/**
 * Unmodified HashiCorp go-plugin (Debian's 1.0.1) Go plugins under a Bulkhead
 * host: examples/kv-go, and a net/rpc plugin that must be refused.
 *
 * @module
 */
import assert from "node:assert/strict";
import { HandshakeError, type LogRecord, Plugin, PluginExitedError } from "../../mod.ts";
import { KvService } from "../../src/gen/bulkhead/examples/kv/v1/kv_pb.ts";
import { assertCleanedUp } from "../_helpers.ts";
import { cli, goBinaries, KV_COOKIE, named, noGo } from "./_toolchains.ts";

function socketDirOf(plugin: Plugin): string {
  return plugin.handshake.address.replace(/\/[^/]+$/, "");
}

Deno.test({
  name: named(
    "kv-go (go-plugin 1.0.1) runs under Plugin.start: handshake, health, KV calls, hclog levels, Shutdown",
    noGo,
  ),
  ignore: noGo !== undefined,
  async fn() {
    const { kvGo } = await goBinaries();
    const records: LogRecord[] = [];
    const plugin = await Plugin.start({
      command: kvGo,
      cookie: KV_COOKIE,
      logger: (r) => records.push(r),
      stopGraceMs: 3000,
    });
    const socketDir = socketDirOf(plugin);
    try {
      // go-plugin prints all six fields; its socket is in our directory via TMPDIR
      assert.match(plugin.handshake.line, /^1\|1\|unix\|\/[^|]+\|grpc\|$/);
      assert.equal(plugin.handshake.coreVersion, 1);
      assert.equal(plugin.handshake.appVersion, 1);
      assert.equal(plugin.handshake.network, "unix");
      assert.equal(plugin.handshake.protocol, "grpc");
      assert.equal(plugin.handshake.serverCert, "");
      assert.equal(plugin.name, "kv-go");
      assert.equal(await plugin.health(), "SERVING");

      const kv = plugin.client(KvService);
      await kv.put({ key: "colour", value: "blue" });
      await kv.put({ key: "count", value: "3" });
      await kv.put({ key: "shape", value: "round" });
      assert.deepEqual(
        { ...(await kv.get({ key: "colour" })), $typeName: undefined },
        { $typeName: undefined, value: "blue", found: true },
      );
      assert.equal((await kv.get({ key: "nothing" })).found, false);
      assert.deepEqual((await kv.list({ prefix: "co" })).keys, ["colour", "count"]);
      assert.deepEqual((await kv.list({})).keys, ["colour", "count", "shape"]);
    } finally {
      const started = performance.now();
      const status = await plugin.stop();
      const took = performance.now() - started;
      // Shutdown made it exit on its own (no SIGTERM after the 3 s grace)
      assert.deepEqual(status, { code: 0, signal: null });
      assert.ok(took < 2500, `stop took ${Math.round(took)} ms: Shutdown did not end the plugin`);
      assertCleanedUp(plugin.pid, socketDir);
    }

    // hclog's JSON lines arrive with their levels and fields
    const put = records.find((r) => r.message === "put" && r.fields?.key === "colour");
    assert.ok(put, JSON.stringify(records));
    assert.equal(put.level, "info");
    assert.equal(put.source, "stderr");
    assert.equal(put.fields?.["@module"], "kv-go");
    const missing = records.find((r) => r.message === "get of a missing key");
    assert.equal(missing?.level, "warn");
    assert.equal(missing?.fields?.key, "nothing");
    assert.equal(records.find((r) => r.message === "plugin address")?.level, "debug");
    assert.ok(records.every((r) => r.plugin === "kv-go"));
  },
});

Deno.test({
  name: named("kv-go refuses to run without the KV magic cookie", noGo),
  ignore: noGo !== undefined,
  async fn() {
    const { kvGo } = await goBinaries();
    const error = await Plugin.start({ command: kvGo, logger: () => {} }).then(
      () => assert.fail("started without its cookie"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof PluginExitedError, String(error));
    assert.equal(error.status.code, 1);
    assert.match(error.stderrTail.join("\n"), /This binary is a plugin/);
  },
});

Deno.test({
  name: named("bulkhead inspect and call work against kv-go (reflection v1alpha)", noGo),
  ignore: noGo !== undefined,
  async fn() {
    const { kvGo } = await goBinaries();
    const inspect = await cli(["inspect"], [kvGo]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.match(inspect.stdout, /Handshake: 1\|1\|unix\|.+\|grpc\|/);
    assert.match(inspect.stdout, /via grpc\.reflection\.v1alpha/);
    assert.match(inspect.stdout, /bulkhead\.examples\.kv\.v1\.KvService/);
    assert.match(inspect.stdout, /rpc Put\(bulkhead\.examples\.kv\.v1\.PutRequest\)/);
    assert.match(inspect.stdout, /plugin\.GRPCController/);
    assert.match(inspect.stdout, /Health: SERVING/);

    const put = await cli(
      ["call", "bulkhead.examples.kv.v1.KvService/Put", '{"key":"k","value":"v"}'],
      [kvGo],
    );
    assert.equal(put.code, 0, put.stderr);
    assert.deepEqual(JSON.parse(put.stdout), {});
    const get = await cli(
      ["call", "bulkhead.examples.kv.v1.KvService/Get", '{"key":"k"}'],
      [kvGo],
    );
    assert.equal(get.code, 0, get.stderr);
    // a fresh plugin per command: the key is not there
    assert.deepEqual(JSON.parse(get.stdout), {});
    assert.match(get.stderr, /get of a missing key/);
  },
});

Deno.test({
  name: named("a go-plugin net/rpc plugin is refused with a HandshakeError (protocol)", noGo),
  ignore: noGo !== undefined,
  async fn() {
    const { netrpcPlugin } = await goBinaries();
    const error = await Plugin.start({
      command: netrpcPlugin,
      cookie: KV_COOKIE,
      logger: () => {},
    }).then(
      () => assert.fail("a netrpc plugin was accepted"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof HandshakeError, String(error));
    assert.equal(error.reason, "protocol");
    assert.match(error.line ?? "", /^1\|1\|unix\|.+\|netrpc\|$/);
    assert.match(error.message, /netrpc/);
    assert.match(error.message, /netrpc_plugin/);
  },
});
