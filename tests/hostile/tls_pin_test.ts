/**
 * A plugin whose AutoMTLS handshake announces a certificate other than the
 * one it serves (or that serves no TLS at all) is refused at once with
 * `HandshakeError` reason `tls`, not retried until the start times out as
 * a socket that never answered.
 */
import assert from "node:assert/strict";
import { HandshakeError, Plugin } from "../../mod.ts";
import { GreeterService } from "../../src/gen/bulkhead/examples/greeter/v1/greeter_pb.ts";
import { HOSTILE_FIXTURES } from "./_log_stop_helpers.ts";

for (const way of ["wrong-pin", "plaintext"]) {
  Deno.test(`a plugin announcing a certificate it does not serve (${way}) fails with reason tls`, async () => {
    await using payments = await Plugin.start({
      module: new URL("../../examples/greeter/plugin.ts", import.meta.url),
      name: "payments",
    });
    const parent = await Deno.makeTempDir({ prefix: "bulkhead-tls-" });
    const started = performance.now();
    const error = await Plugin.start({
      module: new URL("./tls_wrong_pin.ts", HOSTILE_FIXTURES),
      args: [way],
      name: "liar",
      autoMtls: true,
      socketParent: parent,
      // long: before, the start took all of it and then said "socket"
      startTimeoutMs: 30_000,
      logger: () => {},
    }).then(() => assert.fail("start should have failed"), (e: unknown) => e);
    console.log(`${way}: refused after ${Math.round(performance.now() - started)} ms`);
    assert.ok(error instanceof HandshakeError, `got ${error}`);
    assert.equal(error.reason, "tls");
    assert.equal(error.plugin, "liar");
    assert.match(error.message, /^Cannot start plugin "liar": /);
    assert.ok(error.line?.startsWith("1|1|unix|"));
    assert.deepEqual([...Deno.readDirSync(parent)], [], "socket directory left behind");
    await Deno.remove(parent);
    assert.equal(
      (await payments.client(GreeterService).greet({ name: "Ada" })).greeting,
      "Hello, Ada!",
    );
  });
}
