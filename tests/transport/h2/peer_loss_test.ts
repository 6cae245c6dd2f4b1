import assert from "node:assert/strict";
import { Code, ConnectError, createClient } from "../../../src/npm/connect.ts";
import { FixtureService } from "../../../src/gen/bulkhead/testing/v1/fixture_pb.ts";
import { createH2Transport } from "../../../src/transport/h2/client.ts";
import { Connection } from "../../../src/transport/h2/connection.ts";
import type { ByteStream } from "../../../src/transport/h2/byte_stream.ts";
import { nativeConnector } from "../../../src/transport/h2/native.ts";
import { fixture, socketDir } from "./_helpers.ts";
import { codecFor } from "../../../src/transport/h2/codec.ts";

/**
 * A real Unix socket whose reads can be held back: bytes the peer sent are
 * read from the socket but handed to the connection only on `release()`, so
 * a test can have a write fail while a complete response sits unread.
 */
class HeldReads implements ByteStream {
  readonly #conn: Deno.Conn;
  #holding = false;
  #release = Promise.withResolvers<void>();
  /** Resolves when a read completed while held. */
  readonly held = Promise.withResolvers<number | null>();
  /** Resolves when a write failed. */
  readonly writeFailed = Promise.withResolvers<unknown>();

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  hold(): void {
    this.#holding = true;
  }

  release(): void {
    this.#holding = false;
    this.#release.resolve();
  }

  async read(p: Uint8Array): Promise<number | null> {
    const n = await this.#conn.read(p);
    if (this.#holding) {
      this.held.resolve(n);
      await this.#release.promise;
    }
    return n;
  }

  async write(p: Uint8Array): Promise<number> {
    try {
      return await this.#conn.write(p);
    } catch (error) {
      this.writeFailed.resolve(error);
      throw error;
    }
  }

  close(): void {
    this.#conn.close();
  }
}

/** A client connection over `socket` to `path`, as a typed client. */
function clientOver(socket: HeldReads) {
  const conn = new Connection(socket as unknown as Deno.Conn, { role: "client" });
  conn.start();
  const client = createClient(
    FixtureService,
    createH2Transport({ current: () => conn, connect: () => Promise.resolve(conn) }, {
      readMaxBytes: 1 << 20,
      writeMaxBytes: 1 << 20,
      codec: codecFor(undefined),
    }),
  );
  return { conn, client };
}

Deno.test("responses that reached the client before its server went away are delivered", async (t) => {
  for (const noticed of ["by the end of the socket", "by a failed write first"]) {
    await t.step(noticed, async () => {
      await using dir = await socketDir();
      const server = await nativeConnector.listen(dir.path, [fixture]);
      const socket = new HeldReads(await Deno.connect({ transport: "unix", path: dir.path }));
      const { conn, client } = clientOver(socket);
      try {
        assert.equal((await client.echo({ text: "warm" })).text, "warm");

        socket.hold();
        const answered = client.echo({ text: "answered" });
        assert.ok(await socket.held.promise, "the server's answer was read, and held");
        await server.close(); // the server is gone; its answer waits in our hands
        let late: Promise<unknown> | undefined;
        if (noticed === "by a failed write first") {
          late = client.echo({ text: "too late" }).catch((e) => e);
          await socket.writeFailed.promise;
        }
        socket.release();

        assert.equal((await answered).text, "answered", "an answer that arrived is delivered");
        if (late) {
          const error = await late;
          assert.ok(error instanceof ConnectError, String(error));
          assert.equal(error.code, Code.Unavailable);
        }
      } finally {
        await conn.close();
        await server.close();
      }
    });
  }
});
