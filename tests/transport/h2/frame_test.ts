import assert from "node:assert/strict";
import {
  ErrorCode,
  Flag,
  FrameType,
  H2Error,
  OutputBuffer,
  Setting,
} from "../../../src/transport/h2/frame.ts";
import { FrameReader } from "../../../src/transport/h2/frame_reader.ts";
import { HeaderBlockAssembler } from "../../../src/transport/h2/header_block.ts";

interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: number[];
}

/** Feeds `bytes` to a reader in chunks of `chunk` bytes and collects the frames. */
function readAll(bytes: Uint8Array, chunk: number, maxFrameSize = 16384): Frame[] {
  const reader = new FrameReader(maxFrameSize, 32);
  const frames: Frame[] = [];
  for (let off = 0; off < bytes.length; off += chunk) {
    const part = bytes.subarray(off, Math.min(bytes.length, off + chunk));
    reader.space().set(part);
    reader.commit(part.length);
    while (reader.next()) {
      frames.push({
        type: reader.type,
        flags: reader.flags,
        streamId: reader.streamId,
        payload: [...reader.payload],
      });
    }
  }
  return frames;
}

function sample(): Uint8Array {
  const out = new OutputBuffer(4);
  out.settings([[Setting.INITIAL_WINDOW_SIZE, 1 << 20], [Setting.MAX_FRAME_SIZE, 16384]]);
  out.settings([], true);
  out.ping(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), true);
  out.windowUpdate(0, 0x7fffffff);
  out.rstStream(3, ErrorCode.CANCEL);
  out.goaway(5, ErrorCode.ENHANCE_YOUR_CALM, "calm");
  out.frameHeader(3, FrameType.DATA, Flag.END_STREAM, 0x7ffffffd);
  out.append(new Uint8Array([9, 8, 7]));
  return out.bytes().slice();
}

Deno.test("OutputBuffer encodes frames that FrameReader decodes", async (t) => {
  const bytes = sample();
  for (const chunk of [1, 7, 9, 1000]) {
    await t.step(`read in chunks of ${chunk} bytes`, () => {
      const frames = readAll(bytes, chunk);
      assert.deepEqual(frames.map((f) => f.type), [
        FrameType.SETTINGS,
        FrameType.SETTINGS,
        FrameType.PING,
        FrameType.WINDOW_UPDATE,
        FrameType.RST_STREAM,
        FrameType.GOAWAY,
        FrameType.DATA,
      ]);
      assert.deepEqual(frames[0]!.payload, [0, 4, 0, 16, 0, 0, 0, 5, 0, 0, 64, 0]);
      assert.equal(frames[1]!.flags, Flag.ACK);
      assert.deepEqual(frames[3]!.payload, [0x7f, 0xff, 0xff, 0xff]);
      assert.equal(frames[4]!.streamId, 3);
      assert.deepEqual(frames[5]!.payload, [0, 0, 0, 5, 0, 0, 0, 11, 99, 97, 108, 109]);
      assert.equal(frames[6]!.streamId, 0x7ffffffd);
      assert.deepEqual(frames[6]!.payload, [9, 8, 7]);
    });
  }
});

Deno.test("FrameReader clears the reserved bit of the stream identifier", () => {
  const frame = new Uint8Array([0, 0, 0, FrameType.DATA, 0, 0x80, 0, 0, 1]);
  assert.equal(readAll(frame, 9)[0]!.streamId, 1);
});

Deno.test("FrameReader rejects a frame above the maximum size", () => {
  const out = new OutputBuffer();
  out.frameHeader(16385, FrameType.DATA, 0, 1);
  assert.throws(
    () => readAll(out.bytes().slice(0, 9), 9),
    (e: unknown) => e instanceof H2Error && e.code === ErrorCode.FRAME_SIZE_ERROR,
  );
});

Deno.test("FrameReader handles frames larger than its initial buffer", () => {
  const out = new OutputBuffer();
  const payload = new Uint8Array(100_000).map((_, i) => i & 0xff);
  out.frameHeader(payload.length, FrameType.DATA, 0, 1);
  out.append(payload);
  out.ping(new Uint8Array(8), false);
  const frames = readAll(out.bytes(), 4096, 1 << 20);
  assert.equal(frames.length, 2);
  assert.deepEqual(new Uint8Array(frames[0]!.payload), payload);
});

Deno.test("HeaderBlockAssembler joins CONTINUATION frames and bounds them", async (t) => {
  await t.step("joins fragments with padding and priority", () => {
    const headers = new HeaderBlockAssembler(1024);
    const payload = new Uint8Array([2, 0, 0, 0, 0, 0, 0xaa, 0xbb, 0, 0]);
    assert.equal(
      headers.headers(1, Flag.PADDED | Flag.PRIORITY | Flag.END_STREAM, payload),
      undefined,
    );
    assert.equal(headers.streamId, 1);
    const block = headers.continuation(1, Flag.END_HEADERS, new Uint8Array([0xcc]));
    assert.deepEqual(block, new Uint8Array([0xaa, 0xbb, 0xcc]));
    assert.equal(headers.endStream, true);
    assert.equal(headers.streamId, 0);
  });
  await t.step("rejects CONTINUATION on another stream", () => {
    const headers = new HeaderBlockAssembler(1024);
    headers.headers(1, 0, new Uint8Array([1]));
    assert.throws(() => headers.continuation(3, Flag.END_HEADERS, new Uint8Array(0)), H2Error);
  });
  await t.step("rejects a block over the size limit", () => {
    const headers = new HeaderBlockAssembler(10);
    headers.headers(1, 0, new Uint8Array(8));
    assert.throws(
      () => headers.continuation(1, 0, new Uint8Array(8)),
      (e: unknown) => e instanceof H2Error && e.code === ErrorCode.ENHANCE_YOUR_CALM,
    );
  });
  await t.step("rejects a flood of empty CONTINUATION frames", () => {
    const headers = new HeaderBlockAssembler(1024);
    headers.headers(1, 0, new Uint8Array(1));
    assert.throws(() => {
      for (let i = 0; i < 1000; i++) headers.continuation(1, 0, new Uint8Array(0));
    }, H2Error);
  });
  await t.step("rejects padding longer than the payload", () => {
    const headers = new HeaderBlockAssembler(1024);
    assert.throws(() => headers.headers(1, Flag.PADDED, new Uint8Array([5, 1])), H2Error);
  });
});
