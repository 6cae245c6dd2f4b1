/**
 * A Python plugin written with grpcio in go-plugin's style
 * (examples/kv-python) under a Bulkhead host.
 *
 * @module
 */
import assert from "node:assert/strict";
import { HandshakeError, type LogRecord, Plugin, PluginExitedError } from "../../mod.ts";
import { KvService } from "../../src/gen/bulkhead/examples/kv/v1/kv_pb.ts";
import { assertCleanedUp, waitFor } from "../_helpers.ts";
import { cli, KV_COOKIE, KV_PYTHON, named, noPython, PYTHON } from "./_toolchains.ts";

function startKvPython(extra: Partial<Parameters<typeof Plugin.start>[0]> = {}) {
  return Plugin.start({
    command: PYTHON,
    args: [KV_PYTHON],
    name: "kv-python",
    cookie: KV_COOKIE,
    logger: () => {},
    stopGraceMs: 3000,
    ...extra,
  });
}

Deno.test({
  name: named(
    "kv-python (grpcio) runs under Plugin.start: handshake, health, KV calls, stdio stream, Shutdown",
    noPython,
  ),
  ignore: noPython !== undefined,
  async fn() {
    const records: LogRecord[] = [];
    const plugin = await startKvPython({ logger: (r) => records.push(r) });
    const socketDir = plugin.handshake.address.replace(/\/[^/]+$/, "");
    try {
      assert.match(plugin.handshake.line, /^1\|1\|unix\|\/[^|]+\|grpc\|$/);
      assert.equal(plugin.handshake.network, "unix");
      assert.equal(plugin.handshake.protocol, "grpc");
      assert.equal(await plugin.health(), "SERVING");

      const kv = plugin.client(KvService);
      await kv.put({ key: "alpha", value: "1" });
      await kv.put({ key: "beta", value: "22" });
      const got = await kv.get({ key: "beta" });
      assert.equal(got.value, "22");
      assert.equal(got.found, true);
      assert.equal((await kv.get({ key: "gamma" })).found, false);
      assert.deepEqual((await kv.list({})).keys, ["alpha", "beta"]);
      assert.deepEqual((await kv.list({ prefix: "b" })).keys, ["beta"]);

      // what it prints (stdout) and logs (stderr, hclog-style JSON) after the
      // handshake reaches the host through plugin.GRPCStdio
      assert.ok(
        await waitFor(() => records.some((r) => r.message === "list 'b': 1 key(s)"), 3000),
        JSON.stringify(records),
      );
      const printed = records.find((r) => r.message === "put alpha=1");
      assert.equal(printed?.source, "stdio");
      const logged = records.find((r) => r.message === "put beta (2 bytes)");
      assert.equal(logged?.source, "stdio");
      assert.equal(logged?.level, "info");
      assert.equal(logged?.fields?.["@module"], "kv-python");
      assert.equal(records.find((r) => r.message === "get of a missing key")?.level, "warn");
    } finally {
      const started = performance.now();
      const status = await plugin.stop();
      const took = performance.now() - started;
      assert.deepEqual(status, { code: 0, signal: null });
      assert.ok(took < 2500, `stop took ${Math.round(took)} ms: Shutdown did not end the plugin`);
      assertCleanedUp(plugin.pid, socketDir);
    }
  },
});

Deno.test({
  name: named("kv-python refuses to run without the KV magic cookie", noPython),
  ignore: noPython !== undefined,
  async fn() {
    const error = await startKvPython({ cookie: { key: KV_COOKIE.key, value: "wrong" } }).then(
      () => assert.fail("started without its cookie"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof PluginExitedError, String(error));
    assert.equal(error.status.code, 1);
    assert.match(error.stderrTail.join("\n"), /not set to the host's magic cookie/);
  },
});

Deno.test({
  name: named("bulkhead inspect and call work against kv-python (reflection v1alpha)", noPython),
  ignore: noPython !== undefined,
  async fn() {
    const inspect = await cli(["inspect"], [PYTHON, KV_PYTHON]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.match(inspect.stdout, /Handshake: 1\|1\|unix\|.+\|grpc\|/);
    assert.match(inspect.stdout, /via grpc\.reflection\.v1alpha/);
    assert.match(inspect.stdout, /bulkhead\.examples\.kv\.v1\.KvService/);
    assert.match(inspect.stdout, /rpc List\(bulkhead\.examples\.kv\.v1\.ListRequest\)/);
    assert.match(inspect.stdout, /plugin\.GRPCStdio/);
    assert.match(inspect.stdout, /Health: SERVING/);
    assert.match(inspect.stdout, /^Permissions: sandboxed by bubblewrap with$/m);
    assert.match(inspect.stdout, /^ {2}--unshare-net$/m);
    assert.match(
      inspect.stdout,
      /^ {2}--ro-bind-try \S+\/examples\/kv-python \S+\/examples\/kv-python$/m,
    );

    const put = await cli(
      ["call", "bulkhead.examples.kv.v1.KvService/Put", '{"key":"k","value":"v"}'],
      [PYTHON, KV_PYTHON],
    );
    assert.equal(put.code, 0, put.stderr);
    assert.deepEqual(JSON.parse(put.stdout), {});
    assert.match(put.stderr, /put k=v/);
  },
});

Deno.test({
  name: named("kv-python announcing tcp is refused unless allowTcp", noPython),
  ignore: noPython !== undefined,
  async fn() {
    const error = await startKvPython({ args: [KV_PYTHON, "--tcp"] }).then(
      () => assert.fail("a tcp plugin was accepted without allowTcp"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof HandshakeError, String(error));
    assert.equal(error.reason, "network");
    assert.match(error.line ?? "", /^1\|1\|tcp\|127\.0\.0\.1:[0-9]+\|grpc\|$/);
  },
});

for (const transport of ["native", "node-http2"] as const) {
  Deno.test({
    name: named(
      `kv-python announcing tcp on 127.0.0.1 is served with allowTcp and net (${transport})`,
      noPython,
    ),
    ignore: noPython !== undefined,
    async fn() {
      // its own network namespace has a loopback of its own: tcp needs the host's network
      const plugin = await startKvPython({
        args: [KV_PYTHON, "--tcp"],
        allowTcp: true,
        permissions: { net: true },
        transport,
      });
      try {
        assert.equal(plugin.handshake.network, "tcp");
        assert.match(plugin.handshake.address, /^127\.0\.0\.1:[0-9]+$/);
        assert.equal(await plugin.health(), "SERVING");
        const kv = plugin.client(KvService);
        await kv.put({ key: "t", value: "cp" });
        assert.equal((await kv.get({ key: "t" })).value, "cp");
      } finally {
        assert.deepEqual(await plugin.stop(), { code: 0, signal: null });
      }
    },
  });
}

Deno.test({
  name: named(
    "allowTcp for a sandboxed executable without net is refused before it starts",
    noPython,
  ),
  ignore: noPython !== undefined,
  async fn() {
    const error = await startKvPython({ args: [KV_PYTHON, "--tcp"], allowTcp: true }).then(
      () => assert.fail("started"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof TypeError, String(error));
    assert.match(error.message, /permissions\.net/);
  },
});
