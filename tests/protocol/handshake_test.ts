import assert from "node:assert/strict";
import {
  formatHandshake,
  parseGoBool,
  parseHandshakeLine,
  parseVersionList,
} from "../../src/protocol/handshake.ts";

Deno.test("formatHandshake() always prints the 6th field, as go-plugin does", () => {
  assert.equal(
    formatHandshake({ appVersion: 2, network: "unix", address: "/tmp/d/p.sock" }),
    "1|2|unix|/tmp/d/p.sock|grpc|",
  );
  assert.equal(
    formatHandshake({ appVersion: 1, network: "unix", address: "/s", serverCert: "QUJD" }),
    "1|1|unix|/s|grpc|QUJD",
  );
});

Deno.test("parseHandshakeLine() reads 5, 6 and 7 fields", async (t) => {
  await t.step("5 fields", () => {
    const f = parseHandshakeLine("1|3|unix|/a/b.sock|grpc");
    assert.equal(f.appVersion, 3);
    assert.equal(f.serverCert, "");
    assert.equal(f.fieldCount, 5);
  });
  await t.step("6 fields, empty certificate", () => {
    assert.equal(parseHandshakeLine("1|1|unix|/a|grpc|").fieldCount, 6);
  });
  await t.step("7 fields with mux", () => {
    const f = parseHandshakeLine("1|1|unix|/a|grpc|Q0VSVA|true");
    assert.equal(f.serverCert, "Q0VSVA");
    assert.equal(f.mux, true);
  });
  await t.step("a trailing carriage return", () => {
    assert.equal(parseHandshakeLine("1|1|unix|/a|grpc|\r").serverCert, "");
  });
});

Deno.test("parseHandshakeLine() rejects malformed lines", () => {
  for (
    const line of [
      "",
      "garbage",
      "1|1|unix|/a",
      "1|1|unix|/a|grpc|c|true|x",
      "x|1|unix|/a|grpc",
      "1|-1|unix|/a|grpc",
    ]
  ) {
    assert.throws(() => parseHandshakeLine(line), SyntaxError, line);
  }
});

Deno.test("parseVersionList() ignores blanks and junk", () => {
  assert.deepEqual(parseVersionList("1, 2,,x,3"), [1, 2, 3]);
  assert.deepEqual(parseVersionList(""), []);
});

Deno.test("formatHandshake() adds the 7th field only when told", () => {
  const base = { appVersion: 1, network: "unix", address: "/a" };
  assert.equal(formatHandshake(base), "1|1|unix|/a|grpc|");
  assert.equal(formatHandshake({ ...base, mux: true }), "1|1|unix|/a|grpc||true");
  assert.equal(formatHandshake({ ...base, mux: false }), "1|1|unix|/a|grpc||false");
  assert.equal(parseHandshakeLine(formatHandshake({ ...base, mux: true })).mux, true);
});

Deno.test("parseGoBool() reads PLUGIN_MULTIPLEX_GRPC as Go's strconv.ParseBool", () => {
  for (const yes of ["1", "t", "T", "TRUE", "true", "True"]) assert.equal(parseGoBool(yes), true);
  for (const no of [undefined, "", "0", "false", "yes", "tRUE", " true"]) {
    assert.equal(parseGoBool(no), false, String(no));
  }
});
