import assert from "node:assert/strict";
import { Code, ConnectError } from "../../../src/npm/connect.ts";
import {
  copyMessage,
  encodeTimeout,
  MessageDeframer,
  messagePrefix,
  parseTimeout,
  percentDecode,
  percentEncode,
  wholeMessage,
} from "../../../src/transport/h2/grpc_framing.ts";
import { MessageIterator, MessageQueue } from "../../../src/transport/h2/message_queue.ts";
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

Deno.test("copyMessage() copies out of a reused buffer, small and large", () => {
  const buffer = new Uint8Array(1000).map((_, i) => i);
  const copies = [1, 0, 70, 256, 257, 900].map((n) => [n, copyMessage(buffer, 3, 3 + n)] as const);
  buffer.fill(0);
  for (const [n, copy] of copies) {
    assert.equal(copy.length, n);
    assert.deepEqual([...copy], Array.from({ length: n }, (_, i) => (3 + i) & 0xff));
  }
  // Thousands of small copies never share bytes.
  const many = Array.from({ length: 5000 }, (_, i) => copyMessage(new Uint8Array(3).fill(i), 0, 3));
  many.forEach((copy, i) => assert.deepEqual([...copy], [i & 0xff, i & 0xff, i & 0xff]));
});

Deno.test("wholeMessage() takes exactly one uncompressed message within the limit", () => {
  const message = new Uint8Array([9, 8, 7]);
  assert.deepEqual(wholeMessage(framed(message), 10), message);
  assert.deepEqual(wholeMessage(framed(new Uint8Array(0)), 10), new Uint8Array(0));
  assert.equal(wholeMessage(framed(message, message), 10), undefined); // Two messages.
  assert.equal(wholeMessage(framed(message).subarray(0, 6), 10), undefined); // Partial.
  assert.equal(wholeMessage(framed(message), 2), undefined); // Over the limit.
  const compressed = framed(message);
  compressed[0] = 1;
  assert.equal(wholeMessage(compressed, 10), undefined);
});

Deno.test("MessageIterator yields queued and later messages, then ends or fails", async (t) => {
  await t.step("end", async () => {
    const queue = new MessageQueue(() => {});
    queue.push(new Uint8Array([1]));
    const iterator = new MessageIterator(queue, (bytes) => bytes[0]);
    setTimeout(() => {
      queue.push(new Uint8Array([2]));
      queue.end();
    }, 1);
    const seen = [];
    for await (const value of iterator) seen.push(value);
    assert.deepEqual(seen, [1, 2]);
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
  });
  await t.step("failure after the queued messages", async () => {
    const queue = new MessageQueue(() => {});
    queue.push(new Uint8Array([1]));
    queue.fail(new Error("boom"));
    const iterator = new MessageIterator(queue, (bytes) => bytes[0]);
    assert.deepEqual(await iterator.next(), { done: false, value: 1 });
    await assert.rejects(iterator.next(), /boom/);
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
  });
  await t.step("concurrent next() calls are answered in order", async () => {
    const queue = new MessageQueue(() => {});
    const iterator = new MessageIterator(queue, (bytes) => bytes[0]);
    const pending = [iterator.next(), iterator.next(), iterator.next()];
    queue.push(new Uint8Array([1]));
    queue.push(new Uint8Array([2]));
    queue.end();
    assert.deepEqual((await Promise.all(pending)).map((r) => r.value), [1, 2, undefined]);
  });
  await t.step("return() before the end calls onReturn once", async () => {
    const queue = new MessageQueue(() => {});
    let returned = 0;
    const iterator = new MessageIterator(queue, (bytes) => bytes[0], () => returned++);
    queue.push(new Uint8Array([1]));
    for await (const _ of iterator) break;
    await iterator.return();
    assert.equal(returned, 1);
  });
});
