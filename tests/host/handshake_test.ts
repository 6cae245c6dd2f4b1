import assert from "node:assert/strict";
import { HandshakeError } from "../../mod.ts";
import { validateHandshake } from "../../src/host/handshake.ts";

const expect = { versions: [1, 2], socketDir: "/tmp/bulkhead-abc", allowTcp: false };

function reasonOf(line: string, options = expect): string {
  try {
    validateHandshake("kv", line, options, () => ["last words"]);
  } catch (error) {
    assert.ok(error instanceof HandshakeError);
    assert.equal(error.plugin, "kv");
    assert.equal(error.line, line);
    assert.ok(error.message.includes(JSON.stringify(line)), "the message quotes the line");
    assert.ok(error.message.includes("last words"), "the message has the stderr tail");
    assert.deepEqual(error.stderrTail, ["last words"]);
    return error.reason;
  }
  return "accepted";
}

Deno.test("validateHandshake() accepts a go-plugin line with an empty 6th field", () => {
  const hs = validateHandshake("kv", "1|2|unix|/tmp/bulkhead-abc/plugin.sock|grpc|", expect);
  assert.equal(hs.appVersion, 2);
  assert.equal(hs.network, "unix");
  assert.equal(hs.address, "/tmp/bulkhead-abc/plugin.sock");
  assert.equal(hs.serverCert, "");
});

Deno.test("validateHandshake() names what is wrong", async (t) => {
  const cases: [string, string][] = [
    ["nonsense", "malformed"],
    ["1|1|unix|/tmp/bulkhead-abc/p.sock", "malformed"],
    ["2|1|unix|/tmp/bulkhead-abc/p.sock|grpc|", "core-version"],
    ["1|3|unix|/tmp/bulkhead-abc/p.sock|grpc|", "app-version"],
    ["1|1|unix|/tmp/bulkhead-abc/p.sock|netrpc|", "protocol"],
    ["1|1|udp|/tmp/bulkhead-abc/p.sock|grpc|", "network"],
    ["1|1|tcp|127.0.0.1:1234|grpc|", "network"],
    ["1|1|unix|/tmp/elsewhere/p.sock|grpc|", "address"],
    ["1|1|unix|/tmp/bulkhead-abc/../x/p.sock|grpc|", "address"],
    ["1|1|unix|/tmp/bulkhead-abc/sub/p.sock|grpc|", "address"],
    ["1|1|unix|p.sock|grpc|", "address"],
  ];
  for (const [line, reason] of cases) {
    await t.step(`${reason}: ${line}`, () => assert.equal(reasonOf(line), reason));
  }
});

Deno.test("validateHandshake() accepts tcp only on loopback, and only when allowed", () => {
  const tcp = { ...expect, allowTcp: true };
  assert.equal(reasonOf("1|1|tcp|127.0.0.1:1234|grpc|", tcp), "accepted");
  assert.equal(reasonOf("1|1|tcp|[::1]:1234|grpc|", tcp), "accepted");
  assert.equal(reasonOf("1|1|tcp|10.0.0.1:1234|grpc|", tcp), "address");
  assert.equal(reasonOf("1|1|tcp|example.com:1234|grpc|", tcp), "address");
});
