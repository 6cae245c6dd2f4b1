import assert from "node:assert/strict";
import { Code, ConnectError } from "../../../src/npm/connect.ts";
import {
  encodeTimeout,
  MessageDeframer,
  messagePrefix,
  parseTimeout,
  percentDecode,
  percentEncode,
} from "../../../src/transport/h2/grpc_framing.ts";
import { statusError, statusTrailers } from "../../../src/transport/h2/grpc_status.ts";

function framed(...messages: Uint8Array[]): Uint8Array {
  const parts = messages.flatMap((m) => [...messagePrefix(m.length), ...m]);
  return new Uint8Array(parts);
}

Deno.test("MessageDeframer reassembles messages split anywhere", async (t) => {
  const messages = [new Uint8Array(0), new Uint8Array([1, 2, 3]), new Uint8Array(300).fill(7)];
  const bytes = framed(...messages);
  for (const chunk of [1, 2, 5, 6, 64, bytes.length]) {
    await t.step(`chunks of ${chunk}`, () => {
      const deframer = new MessageDeframer(1000);
      const out: Uint8Array[] = [];
      for (let off = 0; off < bytes.length; off += chunk) {
        deframer.push(bytes.subarray(off, off + chunk), (m) => out.push(m));
      }
      assert.deepEqual(out, messages);
      assert.equal(deframer.partial, false);
    });
  }
});

Deno.test("MessageDeframer rejects oversized and compressed messages", async (t) => {
  await t.step("over readMaxBytes is RESOURCE_EXHAUSTED", () => {
    assert.throws(
      () => new MessageDeframer(2).push(framed(new Uint8Array(3)), () => {}),
      (e: unknown) => e instanceof ConnectError && e.code === Code.ResourceExhausted,
    );
  });
  await t.step("compressed flag without grpc-encoding is INTERNAL", () => {
    assert.throws(
      () => new MessageDeframer(10).push(new Uint8Array([1, 0, 0, 0, 0]), () => {}),
      (e: unknown) => e instanceof ConnectError && e.code === Code.Internal,
    );
  });
});

Deno.test("grpc-timeout encodes and parses", () => {
  assert.equal(encodeTimeout(1500), "1500m");
  assert.equal(encodeTimeout(0.2), "1m");
  assert.equal(encodeTimeout(1e9), "1000000S");
  assert.ok(encodeTimeout(1e15).length <= 9);
  assert.equal(parseTimeout("1500m"), 1500);
  assert.equal(parseTimeout("2S"), 2000);
  assert.equal(parseTimeout("1H"), 3_600_000);
  assert.equal(parseTimeout("5000u"), 5);
  assert.equal(parseTimeout("123456789m"), undefined);
  assert.equal(parseTimeout("12x"), undefined);
  assert.equal(parseTimeout(""), undefined);
});

Deno.test("grpc-message percent-encoding round-trips", () => {
  assert.equal(percentEncode("plain text"), "plain text");
  assert.equal(percentEncode("100% ü\n"), "100%25 %C3%BC%0A");
  assert.equal(percentDecode("100%25 %C3%BC%0A"), "100% ü\n");
  assert.equal(percentDecode("bad %zz %"), "bad %zz %");
});

Deno.test("statusTrailers() and statusError() carry code, message, metadata and details", () => {
  const error = new ConnectError("nope: ü", Code.NotFound, { "x-meta": "m" });
  error.details = [{ type: "example.Detail", value: new Uint8Array([1, 2]) }];
  const trailers = statusTrailers(error, new Headers({ "x-trailer": "t" }));
  const parsed = statusError(trailers, () => new Headers());
  assert.ok(parsed instanceof ConnectError);
  assert.equal(parsed.code, Code.NotFound);
  assert.equal(parsed.rawMessage, "nope: ü");
  assert.deepEqual(parsed.details, [{ type: "example.Detail", value: new Uint8Array([1, 2]) }]);
  assert.ok(trailers.includes("x-meta") && trailers.includes("x-trailer"));
  assert.equal(
    statusError(statusTrailers(undefined, new Headers()), () => new Headers()),
    undefined,
  );
  assert.equal(statusError([], () => new Headers())?.code, Code.Internal);
  assert.equal(statusError(["grpc-status", "99"], () => new Headers())?.code, Code.Internal);
});
