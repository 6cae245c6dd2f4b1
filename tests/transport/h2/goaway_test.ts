import assert from "node:assert/strict";
import { Code, ConnectError, createClient } from "../../../src/npm/connect.ts";
import { FixtureService } from "../../../src/gen/bulkhead/testing/v1/fixture_pb.ts";
import { ErrorCode, FrameType, OutputBuffer } from "../../../src/transport/h2/frame.ts";
import { FrameReader } from "../../../src/transport/h2/frame_reader.ts";
import { nativeConnector } from "../../../src/transport/h2/native.ts";
import { socketDir } from "./_helpers.ts";

/**
 * A scripted HTTP/2 server: accepts one connection, reads frames until the
 * first HEADERS, then writes what `reply` appends (given the stream id)
 * and, with `hangUp`, closes. With `everyStream`, it replies to every HEADERS.
 */
async function scriptedServer(
  path: string,
  reply: (out: OutputBuffer, id: number) => void,
  hangUp: boolean,
  everyStream = false,
): Promise<void> {
  using listener = Deno.listen({ transport: "unix", path });
  using socket = await listener.accept();
  const reader = new FrameReader(1 << 20);
  let preface = false;
  let answered = false;
  while (true) {
    const n = await socket.read(reader.space()).catch(() => null);
    if (n === null) return;
    reader.commit(n);
    if (!preface) {
      if (reader.take(24) === undefined) continue;
      preface = true;
    }
    while (reader.next()) {
      if (reader.type === FrameType.HEADERS && (!answered || everyStream)) {
        const out = new OutputBuffer();
        if (!answered) out.settings([]);
        answered = true;
        reply(out, reader.streamId);
        await socket.write(out.bytes());
        if (hangUp) return;
      }
    }
  }
}

async function callFails(
  reply: (out: OutputBuffer, id: number) => void,
  hangUp: boolean,
  everyStream = false,
): Promise<Code> {
  await using dir = await socketDir();
  const server = scriptedServer(dir.path, reply, hangUp, everyStream);
  await using channel = nativeConnector.dial(dir.path);
  const echo = createClient(FixtureService, channel.transport);
  while (!(await Deno.stat(dir.path).then(() => true, () => false))) {
    await new Promise((r) => setTimeout(r, 1));
  }
  const error = await echo.echo({ text: "x" }).then(() => undefined, (e) => e);
  await channel.close();
  await server;
  assert.ok(error instanceof ConnectError, `expected a ConnectError, got ${error}`);
  return error.code;
}

Deno.test("native client survives a server's GOAWAY and broken frames", async (t) => {
  await t.step("GOAWAY below the call's stream fails it with UNAVAILABLE", async () => {
    const code = await callFails((out) => out.goaway(0, ErrorCode.NO_ERROR), false);
    assert.equal(code, Code.Unavailable);
  });
  await t.step("GOAWAY with an error code, then hang-up, is UNAVAILABLE", async () => {
    const code = await callFails((out) => out.goaway(0, ErrorCode.PROTOCOL_ERROR, "bye"), true);
    assert.equal(code, Code.Unavailable);
  });
  await t.step("the socket closing mid-call is UNAVAILABLE", async () => {
    assert.equal(await callFails(() => {}, true), Code.Unavailable);
  });
  await t.step("a protocol error from the server is UNAVAILABLE", async () => {
    const code = await callFails((out) => {
      out.frameHeader(1, FrameType.DATA, 0, 0);
      out.append(new Uint8Array([0]));
    }, false);
    assert.equal(code, Code.Unavailable);
  });
  await t.step("RST_STREAM REFUSED_STREAM on every retry is UNAVAILABLE", async () => {
    const code = await callFails(
      (out, id) => out.rstStream(id, ErrorCode.REFUSED_STREAM),
      false,
      true,
    );
    assert.equal(code, Code.Unavailable);
  });
  await t.step("an HTTP 503 response is UNAVAILABLE", async () => {
    const code = await callFails((out) => {
      out.frameHeader(5, FrameType.HEADERS, 0x5, 1); // END_STREAM | END_HEADERS
      out.append(new Uint8Array([0x48, 0x03, 0x35, 0x30, 0x33])); // ":status: 503"
    }, false);
    assert.equal(code, Code.Unavailable);
  });
});
