import assert from "node:assert/strict";
import { createClient } from "../../../src/npm/connect.ts";
import { FixtureService } from "../../../src/gen/bulkhead/testing/v1/fixture_pb.ts";
import {
  CONNECTION_PREFACE,
  Flag,
  FrameType,
  OutputBuffer,
  Setting,
} from "../../../src/transport/h2/frame.ts";
import { messagePrefix } from "../../../src/transport/h2/grpc_framing.ts";
import { HpackEncoder } from "../../../src/transport/h2/hpack_encoder.ts";
import { nativeConnector } from "../../../src/transport/h2/native.ts";
import { allServices, socketDir } from "./_helpers.ts";
import { writeRequest } from "../../hostile/fixtures/h2_frames.ts";

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A valid client session: preface, SETTINGS, and two Echo calls. */
function validSession(): Uint8Array {
  const out = new OutputBuffer();
  out.append(CONNECTION_PREFACE);
  out.settings([[Setting.INITIAL_WINDOW_SIZE, 1 << 20]]);
  const encoder = new HpackEncoder({ huffman: true });
  for (const id of [1, 3]) {
    writeRequest(out, encoder, id, { authority: "fuzz", extra: ["grpc-timeout", "5S"] });
    const body = [...messagePrefix(4), 0x12, 0x02, 0x68, 0x69];
    out.frameHeader(body.length, FrameType.DATA, Flag.END_STREAM, id);
    out.append(new Uint8Array(body));
  }
  out.ping(new Uint8Array(8), false);
  out.windowUpdate(0, 1000);
  return out.bytes().slice();
}

function mutate(valid: Uint8Array, random: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(random() * n);
  const bytes = Array.from(valid);
  switch (pick(5)) {
    case 0: // Flip a few bytes after the preface.
      for (let i = 0, n = 1 + pick(8); i < n; i++) {
        bytes[CONNECTION_PREFACE.length + pick(bytes.length - CONNECTION_PREFACE.length)] = pick(
          256,
        );
      }
      return new Uint8Array(bytes);
    case 1: // Truncate.
      return new Uint8Array(bytes.slice(0, pick(bytes.length)));
    case 2: { // Append random frames of random types.
      const out = new OutputBuffer();
      out.append(valid);
      for (let i = 0, n = 1 + pick(6); i < n; i++) {
        const length = pick(40);
        out.frameHeader(length, pick(12), pick(256), pick(8));
        out.append(new Uint8Array(length).map(() => pick(256)));
      }
      return out.bytes().slice();
    }
    case 3: // Pure noise after the preface.
      return new Uint8Array([
        ...CONNECTION_PREFACE,
        ...Array.from({ length: pick(200) }, () => pick(256)),
      ]);
    default: { // Splice a random slice of the session somewhere else.
      const from = pick(bytes.length);
      const slice = bytes.slice(from, from + pick(64));
      bytes.splice(pick(bytes.length), 0, ...slice);
      return new Uint8Array(bytes);
    }
  }
}

Deno.test("native server survives random and mutated frames", async () => {
  await using dir = await socketDir();
  await using _server = await nativeConnector.listen(dir.path, allServices);
  const valid = validSession();
  const random = prng(0xb01c_4ead);
  for (let i = 0; i < 300; i++) {
    const socket = await Deno.connect({ transport: "unix", path: dir.path });
    try {
      await socket.write(mutate(valid, random));
      if (i % 2 === 0) {
        // Half-close, then read whatever the server answers until it hangs up.
        await socket.closeWrite();
        const buf = new Uint8Array(65536);
        while (await socket.read(buf) !== null);
      }
    } catch {
      // The server may already have closed the connection.
    } finally {
      socket.close();
    }
  }
  await using channel = nativeConnector.dial(dir.path);
  const echo = createClient(FixtureService, channel.transport);
  assert.equal((await echo.echo({ text: "still here" })).text, "still here");
});
