/**
 * go-plugin's AutoMTLS with go-plugin 1.0.1 Go plugins (which implement the
 * plugin's side of it: PLUGIN_CLIENT_CERT in, a P-521 server certificate in
 * the handshake's 6th field, client certificates required) under a Bulkhead
 * host with `autoMtls: true`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { HandshakeError, Plugin } from "../../mod.ts";
import { createClient } from "../../src/npm/connect.ts";
import { KvService } from "../../src/gen/bulkhead/examples/kv/v1/kv_pb.ts";
import { Callbacks, Counter } from "../../src/gen/bulkhead/testing/v1/callback_pb.ts";
import { Health } from "../../src/gen/grpc/health/v1/health_pb.ts";
import {
  decodeServerCert,
  ENV_CLIENT_CERT,
  generateCertificate,
} from "../../src/protocol/auto_mtls.ts";
import { connectorFor } from "../../src/transport/connectors.ts";
import { assertCleanedUp } from "../_helpers.ts";
import { goBinaries, KV_COOKIE, KV_PYTHON, named, noGo, noPython, PYTHON } from "./_toolchains.ts";

function socketDirOf(plugin: Plugin): string {
  return plugin.handshake.address.replace(/\/[^/]+$/, "");
}

for (const transport of ["native", "node-http2"] as const) {
  Deno.test({
    name: named(`kv-go runs over AutoMTLS with autoMtls: true (${transport})`, noGo),
    ignore: noGo !== undefined,
    async fn() {
      const { kvGo } = await goBinaries();
      const plugin = await Plugin.start({
        command: kvGo,
        cookie: KV_COOKIE,
        autoMtls: true,
        transport,
        logger: () => {},
        stopGraceMs: 3000,
      });
      const socketDir = socketDirOf(plugin);
      try {
        // go-plugin's certificate: base64 DER (unpadded), ECDSA P-521
        assert.match(plugin.handshake.serverCert, /^[A-Za-z0-9+/]{200,}$/);
        const der = decodeServerCert(plugin.handshake.serverCert);
        const p521 = [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23]; // OID 1.3.132.0.35
        assert.ok(
          der.some((_, i) => p521.every((b, j) => der[i + j] === b)),
          "not a P-521 key",
        );
        assert.equal(await plugin.health(), "SERVING");
        const kv = plugin.client(KvService);
        await kv.put({ key: "secret", value: "tls" });
        assert.equal((await kv.get({ key: "secret" })).value, "tls");
      } finally {
        assert.deepEqual(await plugin.stop(), { code: 0, signal: null });
        assertCleanedUp(plugin.pid, socketDir);
      }
    },
  });
}

Deno.test({
  name: named(
    "AutoMTLS pins the announced certificate, and the plugin requires the host's",
    noGo,
  ),
  ignore: noGo !== undefined,
  async fn() {
    const { kvGo } = await goBinaries();
    const host = await generateCertificate();
    const stranger = await generateCertificate();
    const dir = await Deno.makeTempDir();
    const child = new Deno.Command(kvGo, {
      clearEnv: true,
      env: {
        TMPDIR: dir,
        [KV_COOKIE.key]: KV_COOKIE.value,
        PLUGIN_PROTOCOL_VERSIONS: "1",
        [ENV_CLIENT_CERT]: host.certificate,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    try {
      let line = "";
      while (!line.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        line += value;
      }
      const fields = line.trim().split("|");
      const path = fields[3]!;
      const pinned = decodeServerCert(fields[5]!);
      const connector = await connectorFor("native");
      const check = async (tls: Parameters<typeof connector.dial>[1]) => {
        await using channel = connector.dial(path, tls);
        return await createClient(Health, channel.transport).check({ service: "plugin" }, {
          timeoutMs: 3000,
        });
      };
      // the right pin and the certificate the plugin was given
      assert.equal((await check({ tls: { ...host, serverCertificate: pinned } })).status, 1);
      // another pinned certificate: refused by the host before any HTTP/2 byte
      const otherDer = decodeServerCert(
        stranger.certificate.replace(/-----[A-Z ]+-----|\n/g, ""),
      );
      await assert.rejects(
        check({ tls: { ...host, serverCertificate: otherDer } }),
        /a certificate other than the one it announced/,
      );
      // a client certificate the plugin was not given: refused by the plugin
      await assert.rejects(check({ tls: { ...stranger, serverCertificate: pinned } }));
      // plaintext: refused
      await assert.rejects(check({}));
    } finally {
      reader.releaseLock();
      child.kill("SIGKILL");
      await child.status;
      await child.stdout.cancel().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: named("a plugin announcing a certificate is refused when autoMtls is off", noGo),
  ignore: noGo !== undefined,
  async fn() {
    const { kvGo } = await goBinaries();
    const { certificate } = await generateCertificate();
    const error = await Plugin.start({
      command: kvGo,
      cookie: KV_COOKIE,
      env: { [ENV_CLIENT_CERT]: certificate },
      logger: () => {},
    }).then(() => assert.fail("started"), (e: unknown) => e);
    assert.ok(error instanceof HandshakeError, String(error));
    assert.equal(error.reason, "tls");
    assert.match(error.message, /AutoMTLS is off/);
  },
});

Deno.test({
  name: named("autoMtls refuses a plugin that answers without a certificate (kv-python)", noPython),
  ignore: noPython !== undefined,
  async fn() {
    const error = await Plugin.start({
      command: PYTHON,
      args: [KV_PYTHON],
      cookie: KV_COOKIE,
      autoMtls: true,
      logger: () => {},
    }).then(() => assert.fail("started"), (e: unknown) => e);
    assert.ok(error instanceof HandshakeError, String(error));
    assert.equal(error.reason, "tls");
    assert.match(error.message, /announced no server certificate/);
  },
});

Deno.test({
  name: named(
    "broker channels use AutoMTLS both ways; go-plugin 1.0.1's plugin cannot dial the host's (go-plugin#109)",
    noGo,
  ),
  ignore: noGo !== undefined,
  async fn() {
    const { brokerPlugin } = await goBinaries();
    const plugin = await Plugin.start({
      command: brokerPlugin,
      cookie: KV_COOKIE,
      autoMtls: true,
      logger: () => {},
      stopGraceMs: 3000,
    });
    const socketDir = socketDirOf(plugin);
    try {
      // host → plugin: pinned to the plugin's certificate, presenting the host's
      const { brokerId } = await plugin.client(Callbacks).serveCounter({});
      await using channel = await plugin.broker.dial(brokerId);
      const counter = createClient(Counter, channel.transport);
      assert.equal((await counter.add({ delta: 9n })).total, 9n);

      // plugin → host: the host serves TLS with its certificate (accepting only
      // the plugin's), but go-plugin 1.0.1 dials with its server's TLS config,
      // which has no RootCAs and no ServerName, so grpc-go checks the name
      // "unused" (its dummy dial target) against the system roots and refuses
      let called = false;
      await using server = await plugin.broker.serve(plugin.broker.nextId(), [{
        service: Counter,
        implementation: {
          add: () => {
            called = true;
            return { total: 0n, servedBy: "host" };
          },
        },
      }]);
      await assert.rejects(
        plugin.client(Callbacks).addViaBroker({ brokerId: server.id, delta: 1n, times: 1 }),
        /x509: certificate is valid for localhost, not unused/,
      );
      assert.equal(called, false);
      // the host's brokered server speaks TLS only, pinned to the plugin's certificate
      const connector = await connectorFor("native");
      await using plain = connector.dial(server.path);
      await assert.rejects(
        createClient(Counter, plain.transport).add({ delta: 1n }, { timeoutMs: 3000 }),
      );
      const stranger = await generateCertificate();
      await using other = connector.dial(server.path, {
        tls: { ...stranger, serverCertificate: decodeServerCert(plugin.handshake.serverCert) },
      });
      await assert.rejects(
        createClient(Counter, other.transport).add({ delta: 1n }, { timeoutMs: 3000 }),
      );
      assert.equal(called, false);
    } finally {
      assert.deepEqual(await plugin.stop(), { code: 0, signal: null });
      assertCleanedUp(plugin.pid, socketDir);
    }
  },
});
