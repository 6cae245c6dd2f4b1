import assert from "node:assert/strict";
import { Code, ConnectError, createClient } from "../../../src/npm/connect.ts";
import { FixtureService } from "../../../src/gen/bulkhead/testing/v1/fixture_pb.ts";
import { GRPCStdio } from "../../../src/gen/plugin/grpc_stdio_pb.ts";
import {
  CONNECTION_PREFACE,
  ErrorCode,
  Flag,
  FrameType,
  OutputBuffer,
  Setting,
} from "../../../src/transport/h2/frame.ts";
import { FloodGuard } from "../../../src/transport/h2/flood_guard.ts";
import { HpackEncoder } from "../../../src/transport/h2/hpack_encoder.ts";
import { nativeConnector } from "../../../src/transport/h2/native.ts";
import { nodeHttp2Connector } from "../../../src/transport/node_http2.ts";
import { allServices, socketDir } from "./_helpers.ts";
import { writeRequest } from "../../hostile/fixtures/h2_frames.ts";

interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Uint8Array;
}

/** Sends `bytes` to the server at `path` and returns every frame it sends back until it closes. */
async function exchange(path: string, bytes: Uint8Array): Promise<Frame[]> {
  const conn = await Deno.connect({ transport: "unix", path });
  const writing = (async () => {
    for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
  })().catch(() => {}); // The server may close before reading everything.
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  try {
    for (let n; (n = await conn.read(buf)) !== null;) chunks.push(buf.slice(0, n));
  } catch {
    // Reset by the server.
  }
  await writing;
  conn.close();
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  chunks.reduce((off, c) => (all.set(c, off), off + c.length), 0);
  const frames: Frame[] = [];
  for (let p = 0; p + 9 <= all.length;) {
    const length = all[p]! << 16 | all[p + 1]! << 8 | all[p + 2]!;
    const id = (all[p + 5]! << 24 | all[p + 6]! << 16 | all[p + 7]! << 8 | all[p + 8]!) &
      0x7fffffff;
    frames.push({
      type: all[p + 3]!,
      flags: all[p + 4]!,
      id,
      payload: all.subarray(p + 9, p + 9 + length),
    });
    p += 9 + length;
  }
  return frames;
}

function goawayCode(frames: Frame[]): number | undefined {
  const goaway = frames.find((f) => f.type === FrameType.GOAWAY);
  return goaway && new DataView(goaway.payload.buffer, goaway.payload.byteOffset).getUint32(4);
}

function session(build: (out: OutputBuffer) => void): Uint8Array {
  const out = new OutputBuffer();
  out.append(CONNECTION_PREFACE);
  out.settings([]);
  build(out);
  return out.bytes().slice();
}

Deno.test("native server ends floods with GOAWAY ENHANCE_YOUR_CALM", async (t) => {
  await using dir = await socketDir();
  await using _server = await nativeConnector.listen(dir.path, allServices);
  await t.step("PING flood", async () => {
    const frames = await exchange(
      dir.path,
      session((out) => {
        for (let i = 0; i < 5000; i++) out.ping(new Uint8Array(8), false);
      }),
    );
    assert.equal(goawayCode(frames), ErrorCode.ENHANCE_YOUR_CALM);
    const acks = frames.filter((f) => f.type === FrameType.PING).length;
    assert.ok(acks >= 1000 && acks < 5000, `${acks} PING ACKs`);
  });
  await t.step("SETTINGS flood", async () => {
    const frames = await exchange(
      dir.path,
      session((out) => {
        for (let i = 0; i < 1000; i++) out.settings([[Setting.INITIAL_WINDOW_SIZE, 65535]]);
      }),
    );
    assert.equal(goawayCode(frames), ErrorCode.ENHANCE_YOUR_CALM);
  });
  await t.step("rapid reset (HEADERS then RST_STREAM, repeated)", async () => {
    const encoder = new HpackEncoder();
    const frames = await exchange(
      dir.path,
      session((out) => {
        for (let id = 1; id < 2 * 5000; id += 2) {
          writeRequest(out, encoder, id, { authority: "flood" });
          out.rstStream(id, ErrorCode.CANCEL);
        }
      }),
    );
    assert.equal(goawayCode(frames), ErrorCode.ENHANCE_YOUR_CALM);
  });
  await t.step("the server still serves new connections", async () => {
    await using channel = nativeConnector.dial(dir.path);
    const echo = createClient(FixtureService, channel.transport);
    assert.equal((await echo.echo({ text: "after" })).text, "after");
  });
});

Deno.test("FloodGuard refills its buckets with time", () => {
  let now = 0;
  const guard = new FloodGuard({ pings: 10 }, () => now);
  for (let i = 0; i < 10; i++) assert.ok(guard.allow("pings"));
  assert.equal(guard.allow("pings"), false);
  now += 1000;
  for (let i = 0; i < 10; i++) assert.ok(guard.allow("pings"));
  assert.equal(guard.allow("pings"), false);
  assert.ok(guard.allow("settings"));
});

Deno.test("native server advertises and enforces maxConcurrentStreams and maxHeaderListSize", async (t) => {
  await using dir = await socketDir();
  await using _server = await nativeConnector.listen(dir.path, allServices, {
    maxConcurrentStreams: 3,
    maxHeaderListSize: 2048,
  });
  await t.step("in its SETTINGS", async () => {
    const frames = await exchange(
      dir.path,
      session((out) => out.goaway(0, ErrorCode.NO_ERROR)),
    );
    const settings = frames.find((f) => f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK))!;
    const values = new Map<number, number>();
    const view = new DataView(settings.payload.buffer, settings.payload.byteOffset);
    for (let p = 0; p < settings.payload.length; p += 6) {
      values.set(view.getUint16(p), view.getUint32(p + 2));
    }
    assert.equal(values.get(Setting.MAX_CONCURRENT_STREAMS), 3);
    assert.equal(values.get(Setting.MAX_HEADER_LIST_SIZE), 2048);
  });
  await using channel = nativeConnector.dial(dir.path);
  const echo = createClient(FixtureService, channel.transport);
  await t.step("20 concurrent calls queue behind 3 streams and all finish", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => echo.echo({ text: String(i) })),
    );
    assert.deepEqual(results.map((r) => r.text), results.map((_, i) => String(i)));
  });
  await t.step("a 4 KiB header fails with RESOURCE_EXHAUSTED", async () => {
    const error = await echo.echo({ text: "big" }, { headers: { "x-big": "x".repeat(4096) } })
      .catch((e) => e);
    assert.ok(error instanceof ConnectError);
    assert.equal(error.code, Code.ResourceExhausted);
  });
});

for (const connector of [nativeConnector, nodeHttp2Connector]) {
  Deno.test(`${connector.kind} server shutdown({ graceMs }) cuts off a never-ending stream`, async () => {
    await using dir = await socketDir();
    const server = await connector.listen(dir.path, allServices);
    await using channel = connector.dial(dir.path);
    const stdio = createClient(GRPCStdio, channel.transport);
    const stream = stdio.streamStdio({}, { headers: { "x-count": "1", "x-hang": "1" } })[
      Symbol.asyncIterator
    ]();
    assert.equal((await stream.next()).done, false);
    await server.shutdown({ graceMs: 50 });
    const error = await stream.next().catch((e) => e);
    assert.ok(error instanceof ConnectError, `stream ended with ${error}`);
    await server.close();
  });
}
