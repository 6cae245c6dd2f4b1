/**
 * AutoMTLS with both ends ours: a Bulkhead host with `autoMtls: true` and a
 * Deno plugin made with `serve()`, which then serves TLS on its socket and
 * accepts only the host's certificate.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Plugin } from "../../mod.ts";
import { createClient } from "../../src/npm/connect.ts";
import { FixtureService } from "../../src/gen/bulkhead/testing/v1/fixture_pb.ts";
import { Health } from "../../src/gen/grpc/health/v1/health_pb.ts";
import { decodeServerCert, generateCertificate } from "../../src/protocol/auto_mtls.ts";
import { connectorFor } from "../../src/transport/connectors.ts";
import { FIXTURE } from "../_helpers.ts";

Deno.test("a Deno plugin serves AutoMTLS to a host that asks for it, and only to that host", async (t) => {
  await using plugin = await Plugin.start({
    module: FIXTURE,
    args: ["ok"],
    autoMtls: true,
    logger: () => {},
  });
  const announced = decodeServerCert(plugin.handshake.serverCert);
  const connector = await connectorFor("native");

  await t.step("the host's calls go over TLS, pinned to the announced certificate", async () => {
    assert.match(plugin.handshake.line, /^1\|1\|unix\|[^|]+\|grpc\|[A-Za-z0-9+/]{200,}$/);
    const p521 = [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23]; // OID 1.3.132.0.35
    assert.ok(announced.some((_, i) => p521.every((b, j) => announced[i + j] === b)));
    const reply = await plugin.client(FixtureService).echo({ text: "over tls" });
    assert.equal(reply.text, "over tls");
    assert.equal(await plugin.health(), "SERVING");
  });

  await t.step("plaintext HTTP/2 to its socket is refused", async () => {
    await using channel = connector.dial(plugin.handshake.address);
    const health = createClient(Health, channel.transport);
    await assert.rejects(health.check({ service: "plugin" }, { timeoutMs: 3000 }));
  });

  await t.step("TLS with a certificate other than the host's is refused", async () => {
    const stranger = await generateCertificate();
    await using channel = connector.dial(plugin.handshake.address, {
      tls: { ...stranger, serverCertificate: announced },
    });
    const health = createClient(Health, channel.transport);
    await assert.rejects(health.check({ service: "plugin" }, { timeoutMs: 3000 }));
    assert.equal(await plugin.health(), "SERVING", "the plugin serves on");
  });
});
