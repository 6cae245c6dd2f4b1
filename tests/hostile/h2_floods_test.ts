/**
 * Hostile plugins against the host's HTTP/2 client (issue #11): each mode of
 * `fixtures/h2_plugin.ts` attacks the connection the host dialed once the
 * host calls it, or attacks the handshake. Every test asserts that the host
 * lives (the test runner is the host), that the attack ends in a typed
 * error or a closed connection with a reason, that the host's resident set
 * grows by less than {@linkcode RSS_GROWTH_BOUND}, and that a well-behaved
 * plugin's calls are answered during and after the attack.
 *
 * @module
 */
import assert from "node:assert/strict";
import { HandshakeError, Plugin } from "../../mod.ts";
import { Code, ConnectError, createClient } from "../../src/npm/connect.ts";
import { FixtureService } from "../../src/gen/bulkhead/testing/v1/fixture_pb.ts";
import { CONNECTION_PREFACE, OutputBuffer } from "../../src/transport/h2/frame.ts";
import { HpackEncoder } from "../../src/transport/h2/hpack_encoder.ts";
import { nativeConnector } from "../../src/transport/h2/native.ts";
import { Connection } from "../../src/transport/h2/connection.ts";
import { allServices, socketDir } from "../transport/h2/_helpers.ts";
import { assertCleanedUp } from "../_helpers.ts";
import { Bystander, H2_PLUGIN, mb, RSS_GROWTH_BOUND, rssBytes } from "./_h2_attacks.ts";
import { writeRequest } from "./fixtures/h2_frames.ts";

/** An attack on a ready plugin's connection, and how the host must end it. */
interface CallAttack {
  mode: string;
  /** The Act call's outcome: a ConnectError with this code and message, or success. */
  expect: { code: Code; message: RegExp } | "answered";
}

const CALL_ATTACKS: CallAttack[] = [
  {
    mode: "rst-flood",
    expect: { code: Code.Unavailable, message: /Too many stream errors from the peer/ },
  },
  { mode: "settings-flood", expect: { code: Code.Unavailable, message: /Too many settings/ } },
  { mode: "ping-flood", expect: { code: Code.Unavailable, message: /Too many pings/ } },
  {
    mode: "continuation-flood",
    expect: { code: Code.Unavailable, message: /CONTINUATION|Header block exceeds/ },
  },
  {
    mode: "hpack-bomb",
    expect: { code: Code.ResourceExhausted, message: /header list too large/ },
  },
  { mode: "hpack-table-size", expect: { code: Code.Unavailable, message: /decode headers/ } },
  // the stream's window overflows first (a stream error), then the connection's
  { mode: "window-overflow", expect: { code: Code.Internal, message: /window overflow/ } },
  {
    mode: "length-4gib",
    expect: { code: Code.ResourceExhausted, message: /larger than configured readMaxBytes/ },
  },
  { mode: "goaway-abuse", expect: "answered" },
  { mode: "push-promise", expect: { code: Code.Unavailable, message: /PUSH_PROMISE/ } },
];

for (const { mode, expect } of CALL_ATTACKS) {
  Deno.test(`hostile plugin "${mode}": the host ends it and lives, memory bounded, others unharmed`, async () => {
    await using bystander = await Bystander.start();
    const plugin = await Plugin.start({ module: H2_PLUGIN, args: [mode], logger: () => {} });
    const socketDir = plugin.handshake.address.replace(/\/[^/]+$/, "");
    const before = rssBytes();
    let peak = before;
    const sampler = setInterval(() => peak = Math.max(peak, rssBytes()), 20);
    try {
      const started = performance.now();
      const attack = plugin.client(FixtureService).act({ action: mode }, { timeoutMs: 60_000 });
      const [outcome, answered] = await Promise.all([
        attack.then(() => "answered" as const, (e) => e),
        bystander.greetUntil(attack),
      ]);
      peak = Math.max(peak, rssBytes());
      console.log(
        `hostile ${mode}: ${outcome instanceof Error ? outcome.message : outcome} after ${
          Math.round(performance.now() - started)
        } ms; host RSS ${mb(before)} → peak ${mb(peak)} MB; bystander answered ${answered} calls`,
      );
      if (expect === "answered") {
        assert.equal(outcome, "answered");
      } else {
        assert.ok(outcome instanceof ConnectError, `the call ended with ${outcome}`);
        assert.equal(outcome.code, expect.code, outcome.message);
        assert.match(outcome.message, expect.message);
      }
      assert.ok(answered >= 1, "the bystander was not called during the attack");
      assert.ok(peak - before < RSS_GROWTH_BOUND, `host RSS ${mb(before)} → ${mb(peak)} MB`);
      // the attacker's connection is gone; a new one reaches the (still running) plugin
      assert.equal(await plugin.health(), "SERVING");
      await bystander.greet();
    } finally {
      clearInterval(sampler);
      await plugin.stop();
    }
    assertCleanedUp(plugin.pid, socketDir);
  });
}

/** Attacks on the handshake and the first bytes: the start fails with a typed error. */
const START_ATTACKS: { mode: string; reason: string; message: RegExp }[] = [
  { mode: "address-outside", reason: "address", message: /not inside the plugin's socket dir/ },
  { mode: "huge-line", reason: "malformed", message: /malformed handshake line/ },
  { mode: "silent", reason: "socket", message: /did not answer a health check within 2000 ms/ },
  { mode: "trickle", reason: "socket", message: /did not answer a health check within 2000 ms/ },
];

for (const { mode, reason, message } of START_ATTACKS) {
  Deno.test(`hostile plugin "${mode}": the start fails with HandshakeError "${reason}"`, async () => {
    await using bystander = await Bystander.start();
    const before = rssBytes();
    const start = Plugin.start({
      module: H2_PLUGIN,
      args: [mode],
      startTimeoutMs: 2000,
      logger: () => {},
    });
    const [error] = await Promise.all([start.catch((e) => e), bystander.greetUntil(start)]);
    assert.ok(error instanceof HandshakeError, `the start ended with ${error}`);
    assert.equal(error.reason, reason);
    assert.match(error.message, message);
    assert.ok(rssBytes() - before < RSS_GROWTH_BOUND);
    await bystander.greet();
  });
}

Deno.test('hostile plugin "symlink": a socket path leading to another plugin\'s socket is refused', async () => {
  await using bystander = await Bystander.start();
  const error = await Plugin.start({
    module: H2_PLUGIN,
    args: ["symlink"],
    env: { HOSTILE_TARGET: bystander.address },
    permissions: { read: true, write: true, env: ["HOSTILE_TARGET"] }, // Deno.symlink needs both
    logger: () => {},
  }).catch((e) => e);
  assert.ok(error instanceof HandshakeError, `the start ended with ${error}`);
  assert.equal(error.reason, "address");
  assert.match(error.message, /is not a socket \(a symlink or a file\)/);
  await bystander.greet();
});

const RESPONSE = [":status", "200", "content-type", "application/grpc", "grpc-status", "0"];

Deno.test("a peer that provokes frames and never reads is cut off at the output cap, with a reason", async () => {
  await using dir = await socketDir();
  using listener = Deno.listen({ transport: "unix", path: dir.path });
  const client = await Deno.connect({ transport: "unix", path: dir.path });
  const socket = await listener.accept();
  const before = rssBytes();
  let aborted: ConnectError | undefined;
  const server: Connection = new Connection(socket, {
    role: "server",
    outputLimits: { maxPendingControlBytes: 256 << 10 },
    // stream 1 stays open to hear why the connection ended; every other one
    // is answered at once (trailers only), so none of them is ever refused
    onStream: (stream) => {
      if (stream.id !== 1) server.sendHeaders(stream, RESPONSE, true);
      return { onHeaders() {}, onData() {}, onAbort: (error) => aborted = error };
    },
  });
  server.start();
  const encoder = new HpackEncoder();
  const hello = new OutputBuffer();
  hello.append(CONNECTION_PREFACE);
  hello.settings([]);
  writeRequest(hello, encoder, 1);
  let sent = 0;
  let refused = false;
  try {
    await client.write(hello.bytes());
    for (let id = 3; sent < 2_000_000; sent += 500) {
      const out = new OutputBuffer(32768);
      for (let i = 0; i < 500; i++, id += 2) writeRequest(out, encoder, id, { endStream: true });
      for (let off = 0; off < out.length;) off += await client.write(out.bytes().subarray(off));
    }
  } catch {
    refused = true; // the server closed its end: our writes fail
  } finally {
    client.close();
  }
  await server.closed;
  assert.ok(refused, `the server was still taking requests after ${sent} unread answers`);
  assert.ok(aborted instanceof ConnectError, `stream 1 ended with ${aborted}`);
  assert.equal(aborted.code, Code.Unavailable);
  assert.match(
    aborted.message,
    /Cannot send to the peer: the peer stopped reading while \d+ bytes/,
  );
  assert.ok(rssBytes() - before < RSS_GROWTH_BOUND, `RSS ${mb(before)} → ${mb(rssBytes())} MB`);
});

Deno.test("legit bulk traffic is not cut off: 64 calls of 1 MiB at once over a native channel", async () => {
  await using dir = await socketDir();
  await using _server = await nativeConnector.listen(dir.path, allServices);
  await using channel = nativeConnector.dial(dir.path);
  const echo = createClient(FixtureService, channel.transport);
  const payload = new Uint8Array(1 << 20).fill(7);
  const replies = await Promise.all(
    Array.from({ length: 64 }, (_, i) => echo.echo({ text: String(i), payload })),
  );
  assert.deepEqual(replies.map((r) => r.payload.length), replies.map(() => 1 << 20));
});
