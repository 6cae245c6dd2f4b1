/**
 * Bulkhead's yamux (src/transport/yamux/) against hashicorp/yamux, the
 * library go-plugin ≥ 1.5 multiplexes its gRPC connections with (Debian's
 * golang-github-hashicorp-yamux-dev, in tests/interop/yamux_peer): both
 * roles, several streams at once, each carrying more than a window so flow
 * control is exercised, and the Go side's ping answered.
 *
 * @module
 */
import assert from "node:assert/strict";
import { YamuxSession } from "../../src/transport/yamux/session.ts";
import type { YamuxStream } from "../../src/transport/yamux/stream.ts";
import { goBinaries, named, noGo } from "./_toolchains.ts";

const STREAMS = 8;
const BYTES = 1024 * 1024; // four windows

function pattern(stream: number, size: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 7 + stream) % 251;
  return data;
}

async function readAll(stream: YamuxStream, size: number): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  let got = 0;
  while (got < size) {
    const n = await stream.read(out.subarray(got));
    if (n === null) throw new Error(`stream ${stream.id} ended after ${got} bytes`);
    got += n;
  }
  return out;
}

Deno.test({
  name: named("our yamux client talks to hashicorp/yamux's server", noGo),
  ignore: noGo !== undefined,
  async fn() {
    const { yamuxPeer } = await goBinaries();
    const dir = await Deno.makeTempDir({ prefix: "bulkhead-yamux-" });
    const path = `${dir}/peer.sock`;
    const peer = new Deno.Command(yamuxPeer, {
      args: ["server", path],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    try {
      const reader = peer.stdout.pipeThrough(new TextDecoderStream()).getReader();
      assert.equal((await reader.read()).value?.trim(), "ready");
      reader.releaseLock();
      const session = new YamuxSession(await Deno.connect({ transport: "unix", path }), {
        role: "client",
      });
      await Promise.all(Array.from({ length: STREAMS }, async (_, i) => {
        const stream = session.open();
        const data = pattern(i, BYTES);
        const [, echoed] = await Promise.all([stream.write(data), readAll(stream, BYTES)]);
        assert.deepEqual(echoed, data, `stream ${stream.id}`);
        stream.close();
      }));
      await session.close();
      assert.equal(session.streamCount, 0);
    } finally {
      peer.kill();
      await peer.status;
      await peer.stdout.cancel().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: named("hashicorp/yamux's client talks to our yamux server", noGo),
  ignore: noGo !== undefined,
  async fn() {
    const { yamuxPeer } = await goBinaries();
    const dir = await Deno.makeTempDir({ prefix: "bulkhead-yamux-" });
    const path = `${dir}/ours.sock`;
    const listener = Deno.listen({ transport: "unix", path });
    try {
      const peer = new Deno.Command(yamuxPeer, {
        args: ["client", path, String(STREAMS), String(BYTES)],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const session = new YamuxSession(await listener.accept(), { role: "server" });
      const echoes: Promise<void>[] = [];
      for await (const stream of session) {
        echoes.push(
          (async () => {
            const buffer = new Uint8Array(32 * 1024);
            for (let n; (n = await stream.read(buffer)) !== null;) {
              await stream.write(buffer.subarray(0, n));
            }
            stream.close();
          })().catch(() => {}),
        );
      }
      await Promise.all(echoes);
      const { code, stdout, stderr } = await peer;
      assert.equal(code, 0, new TextDecoder().decode(stderr));
      assert.equal(new TextDecoder().decode(stdout).trim(), "ok");
      await session.close();
    } finally {
      listener.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
