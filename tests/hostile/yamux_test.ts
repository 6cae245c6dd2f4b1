/**
 * A hostile yamux peer (go-plugin ≥ 1.5's multiplexed connection) against
 * Bulkhead's yamux session, over a real Unix socket: data past a stream's
 * window, a frame claiming 4 GiB, a SYN flood never accepted, a ping flood
 * from a peer that does not read its answers, and a stream id of ours.
 * Each must end the session (or refuse the streams) with memory bounded.
 *
 * @module
 */
import assert from "node:assert/strict";
import { YamuxProtocolError, YamuxSession } from "../../src/transport/yamux/session.ts";
import { encodeFrame, Flag, FrameType } from "../../src/transport/yamux/frame.ts";

interface Arena {
  session: YamuxSession;
  attacker: Deno.Conn;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Our session (server role, as the SDK's plugin) and the attacker's raw socket. */
async function arena(maxStreams = 16, maxPendingFrames?: number): Promise<Arena> {
  const dir = await Deno.makeTempDir({ prefix: "bulkhead-yamux-hostile-" });
  const path = `${dir}/s.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const [attacker, ours] = await Promise.all([
    Deno.connect({ transport: "unix", path }),
    listener.accept(),
  ]);
  listener.close();
  const session = new YamuxSession(ours, {
    role: "server",
    maxStreams,
    ...(maxPendingFrames === undefined ? {} : { maxPendingFrames }),
  });
  return {
    session,
    attacker,
    async [Symbol.asyncDispose]() {
      await session.close();
      try {
        attacker.close();
      } catch {
        // Already closed.
      }
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await conn.write(bytes.subarray(offset));
}

/** Reads what the session sent until it hangs up; returns the frames' types and flags. */
async function drain(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(64 * 1024);
  try {
    for (let n; (n = await conn.read(buffer)) !== null;) chunks.push(buffer.slice(0, n));
  } catch {
    // reset
  }
  const all = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let at = 0;
  for (const c of chunks) all.set(c, (at += c.length) - c.length);
  return all;
}

function goAwayCode(bytes: Uint8Array): number | undefined {
  for (let at = 0; at + 12 <= bytes.length;) {
    const view = new DataView(bytes.buffer, bytes.byteOffset + at, 12);
    const type = view.getUint8(1);
    const length = view.getUint32(8);
    if (type === FrameType.GoAway) return length;
    at += 12 + (type === FrameType.Data ? length : 0);
  }
  return undefined;
}

const endedOf = (session: YamuxSession): Error | undefined => session.ended;

const syn = (id: number) =>
  encodeFrame({ type: FrameType.WindowUpdate, flags: Flag.Syn, streamId: id, length: 0 });

Deno.test("a yamux peer that sends past a stream's window ends the session with a protocol error", async () => {
  await using a = await arena();
  const chunk = new Uint8Array(64 * 1024);
  const frames = [syn(1)];
  for (let i = 0; i < 5; i++) { // 320 KiB on a 256 KiB window, never read
    frames.push(
      encodeFrame({ type: FrameType.Data, flags: 0, streamId: 1, length: chunk.length }, chunk),
    );
  }
  const heard = drain(a.attacker);
  for (const frame of frames) await writeAll(a.attacker, frame).catch(() => {});
  await a.session.closed;
  assert.ok(a.session.ended instanceof YamuxProtocolError, String(a.session.ended));
  assert.match(a.session.ended.message, /more than its window/);
  assert.equal(goAwayCode(await heard), 1);
});

Deno.test("a yamux frame claiming 4 GiB ends the session before anything is read", async () => {
  await using a = await arena();
  const heard = drain(a.attacker);
  await writeAll(
    a.attacker,
    new Uint8Array([
      ...syn(1),
      ...encodeFrame({
        type: FrameType.Data,
        flags: 0,
        streamId: 1,
        length: 0xffffffff,
      }),
    ]),
  );
  await a.session.closed;
  assert.ok(a.session.ended instanceof YamuxProtocolError);
  assert.match(a.session.ended.message, /exceeds the window/);
  assert.equal(goAwayCode(await heard), 1);
});

Deno.test("a yamux SYN flood never accepted is refused past maxStreams", async () => {
  await using a = await arena(16);
  const flood = new Uint8Array(12 * 5000);
  for (let i = 0; i < 5000; i++) flood.set(syn(2 * i + 1), 12 * i);
  const heard = (async () => {
    // count the resets until 5000 - 16 came back
    const buffer = new Uint8Array(64 * 1024);
    let resets = 0;
    let pending = new Uint8Array(0);
    while (resets < 5000 - 16) {
      const n = await a.attacker.read(buffer);
      if (n === null) break;
      const all = new Uint8Array([...pending, ...buffer.subarray(0, n)]);
      let at = 0;
      for (; at + 12 <= all.length; at += 12) if (all[at + 3]! & Flag.Rst) resets++;
      pending = all.slice(at);
    }
    return resets;
  })();
  await writeAll(a.attacker, flood);
  assert.equal(await heard, 5000 - 16);
  assert.equal(a.session.streamCount, 16);
  assert.equal(a.session.ended, undefined, "the session stays up: only the streams are refused");
});

Deno.test("a yamux ping flood from a peer that does not read ends the session", async () => {
  await using a = await arena(16, 1024);
  const ping = encodeFrame({ type: FrameType.Ping, flags: Flag.Syn, streamId: 0, length: 1 });
  const flood = new Uint8Array(12 * 200_000); // 2.4 MB of pings, no answer read
  for (let i = 0; i < 200_000; i++) flood.set(ping, 12 * i);
  await writeAll(a.attacker, flood).catch(() => {});
  await a.session.closed;
  assert.ok(a.session.ended instanceof YamuxProtocolError, String(a.session.ended));
  assert.match(a.session.ended.message, /frames unread/);
});

Deno.test("a yamux peer opening a stream id of ours ends the session", async () => {
  await using a = await arena();
  await writeAll(a.attacker, syn(2)); // even: the server's ids
  await a.session.closed;
  assert.ok(a.session.ended instanceof YamuxProtocolError);
  assert.match(a.session.ended.message, /an id of this side's/);
});

Deno.test("a yamux peer opening a stream id that is open ends the session; SYNs out of order are streams", async () => {
  await using a = await arena();
  // hashicorp/yamux sends the SYNs of streams opened at once in any order
  await writeAll(a.attacker, new Uint8Array([...syn(3), ...syn(1)]));
  const first = await a.session.accept();
  const second = await a.session.accept();
  assert.deepEqual([first?.id, second?.id], [3, 1]);
  assert.ok(a.session.ended === undefined, String(a.session.ended));
  await writeAll(a.attacker, syn(3));
  await a.session.closed;
  const ended = endedOf(a.session); // read again: the assertion above narrowed the field
  assert.ok(ended instanceof YamuxProtocolError, String(ended));
  assert.match(ended.message, /stream 3 again while it is open/);
});
