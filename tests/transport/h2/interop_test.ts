import assert from "node:assert/strict";
import { Code, ConnectError, createClient } from "../../../src/npm/connect.ts";
import { FixtureService } from "../../../src/gen/bulkhead/testing/v1/fixture_pb.ts";
import { GRPCStdio } from "../../../src/gen/plugin/grpc_stdio_pb.ts";
import { ServerReflection } from "../../../src/gen/grpc/reflection/v1/reflection_pb.ts";
import { nativeConnector } from "../../../src/transport/h2/native.ts";
import { nodeHttp2Connector } from "../../../src/transport/node_http2.ts";
import type { GrpcConnector } from "../../../src/transport/transport.ts";
import { allServices, socketDir } from "./_helpers.ts";

const MiB = 1024 * 1024;

async function exercise(
  t: Deno.TestContext,
  serverSide: GrpcConnector,
  clientSide: GrpcConnector,
): Promise<void> {
  await using dir = await socketDir();
  const limits = { readMaxBytes: 8 * MiB, writeMaxBytes: 8 * MiB };
  const server = await serverSide.listen(dir.path, allServices, limits);
  const channel = clientSide.dial(dir.path, limits);
  try {
    const echo = createClient(FixtureService, channel.transport);
    await t.step("unary of 0 B, 64 B, 64 KiB and 5 MiB", async () => {
      for (const size of [0, 64, 64 * 1024, 5 * MiB]) {
        const payload = new Uint8Array(size).map((_, i) => i * 13);
        assert.deepEqual((await echo.echo({ payload })).payload, payload);
      }
    });
    await t.step("metadata both ways", async () => {
      let header: Headers | undefined;
      let trailer: Headers | undefined;
      await echo.echo({ text: "meta" }, {
        headers: { "x-echo": "v" },
        onHeader: (h) => header = h,
        onTrailer: (h) => trailer = h,
      });
      assert.equal(header?.get("x-echo"), "v");
      assert.equal(trailer?.get("x-trailer"), "t");
    });
    await t.step("errors keep code, message and metadata", async () => {
      const error = await echo.echo({ text: `error:${Code.PermissionDenied}` }).catch((e) => e);
      assert.ok(error instanceof ConnectError);
      assert.equal(error.code, Code.PermissionDenied);
      assert.equal(error.rawMessage, "fixture error: ünïcode % 100");
      assert.equal(error.metadata.get("x-detail"), "yes");
    });
    await t.step("deadline", async () => {
      const error = await echo.echo({ text: "hang" }, { timeoutMs: 30 }).catch((e) => e);
      assert.equal((error as ConnectError).code, Code.DeadlineExceeded);
    });
    await t.step("100 concurrent calls", async () => {
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => echo.echo({ text: String(i) })),
      );
      assert.deepEqual(results.map((r) => r.text), results.map((_, i) => String(i)));
    });
    await t.step("server streaming", async () => {
      const stdio = createClient(GRPCStdio, channel.transport);
      let bytes = 0;
      const headers = { "x-count": "64", "x-size": "65536" };
      for await (const m of stdio.streamStdio({}, { headers })) bytes += m.data.length;
      assert.equal(bytes, 64 * 65536);
    });
    await t.step("bidi streaming", async () => {
      const reflection = createClient(ServerReflection, channel.transport);
      async function* requests() {
        for (let i = 0; i < 20; i++) yield { host: String(i) };
      }
      const hosts = [];
      for await (const r of reflection.serverReflectionInfo(requests())) hosts.push(r.validHost);
      assert.deepEqual(hosts, Array.from({ length: 20 }, (_, i) => `re:${i}`));
    });
  } finally {
    await channel.close();
    await server.close();
  }
}

Deno.test("native client talks to a node-http2 server", async (t) => {
  await exercise(t, nodeHttp2Connector, nativeConnector);
});

Deno.test("node-http2 client talks to a native server", async (t) => {
  await exercise(t, nativeConnector, nodeHttp2Connector);
});
