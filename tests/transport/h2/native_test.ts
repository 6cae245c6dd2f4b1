import assert from "node:assert/strict";
import { Code, ConnectError, createClient } from "../../../src/npm/connect.ts";
import { FixtureService } from "../../../src/gen/bulkhead/testing/v1/fixture_pb.ts";
import { GreeterService } from "../../../src/gen/bulkhead/examples/greeter/v1/greeter_pb.ts";
import { GRPCStdio, StdioData_Channel } from "../../../src/gen/plugin/grpc_stdio_pb.ts";
import { ServerReflection } from "../../../src/gen/grpc/reflection/v1/reflection_pb.ts";
import { nativeConnector } from "../../../src/transport/h2/native.ts";
import { connectorFor } from "../../../src/transport/connectors.ts";
import { aborted, allServices, fixture, register, socketDir } from "./_helpers.ts";

const MiB = 1024 * 1024;

async function rejectsWith(promise: Promise<unknown>, code: Code): Promise<ConnectError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConnectError, `expected ConnectError, got ${error}`);
    assert.equal(
      error.code,
      code,
      `expected ${Code[code]}, got ${Code[error.code]}: ${error.message}`,
    );
    return error;
  }
  throw new assert.AssertionError({ message: `expected ${Code[code]}, call succeeded` });
}

Deno.test("connectorFor() returns the native connector", async () => {
  assert.equal((await connectorFor("native")).kind, "native");
});

Deno.test("native transport answers unary calls", async (t) => {
  await using dir = await socketDir();
  const limits = { readMaxBytes: 8 * MiB, writeMaxBytes: 8 * MiB };
  await using _server = await nativeConnector.listen(dir.path, allServices, limits);
  await using channel = nativeConnector.dial(dir.path, limits);
  const echo = createClient(FixtureService, channel.transport);
  await t.step("greeter", async () => {
    const greeter = createClient(GreeterService, channel.transport);
    assert.equal((await greeter.greet({ name: "Ada" })).greeting, "Hello, Ada!");
  });
  for (const size of [0, 64, 64 * 1024, 5 * MiB]) {
    await t.step(`echo of ${size} bytes`, async () => {
      const payload = new Uint8Array(size).map((_, i) => i * 7);
      const response = await echo.echo({ payload, text: "x" });
      assert.deepEqual(response.payload, payload);
      assert.equal(response.pid, BigInt(Deno.pid));
    });
  }
  await t.step("request and response metadata", async () => {
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    await echo.echo({ text: "meta" }, {
      headers: { "x-echo": "hello" },
      onHeader: (h) => header = h,
      onTrailer: (h) => trailer = h,
    });
    assert.equal(header?.get("x-echo"), "hello");
    assert.equal(trailer?.get("x-trailer"), "t");
  });
});

Deno.test("native transport maps errors to codes", async (t) => {
  await using dir = await socketDir();
  await using _server = await nativeConnector.listen(dir.path, [fixture]);
  await using channel = nativeConnector.dial(dir.path);
  const echo = createClient(FixtureService, channel.transport);
  await t.step("a ConnectError keeps its code, message and metadata", async () => {
    const error = await rejectsWith(echo.echo({ text: `error:${Code.NotFound}` }), Code.NotFound);
    assert.equal(error.rawMessage, "fixture error: ünïcode % 100");
    assert.equal(error.metadata.get("x-detail"), "yes");
  });
  await t.step("any other error is UNKNOWN, as grpc-go answers it, with its message", async () => {
    await rejectsWith(echo.echo({ text: "throw" }), Code.Unknown);
  });
  await t.step("an unknown service is UNIMPLEMENTED", async () => {
    const greeter = createClient(GreeterService, channel.transport);
    await rejectsWith(greeter.greet({ name: "x" }), Code.Unimplemented);
  });
  await t.step("the connection survives errors", async () => {
    assert.equal((await echo.echo({ text: "ok" })).text, "ok");
  });
});

Deno.test("native transport enforces deadlines and cancellation", async (t) => {
  await using dir = await socketDir();
  const serverAborts: Promise<void>[] = [];
  const hang = register(FixtureService, {
    async echo(_request, ctx) {
      serverAborts.push(aborted(ctx.signal));
      await aborted(ctx.signal);
      return {};
    },
  });
  await using _server = await nativeConnector.listen(dir.path, [hang]);
  await using channel = nativeConnector.dial(dir.path);
  const echo = createClient(FixtureService, channel.transport);
  await t.step("timeoutMs ends the call with DEADLINE_EXCEEDED", async () => {
    await rejectsWith(echo.echo({}, { timeoutMs: 50 }), Code.DeadlineExceeded);
  });
  await t.step("an AbortSignal cancels the call and the server's handler", async () => {
    const controller = new AbortController();
    const call = echo.echo({}, { signal: controller.signal });
    while (serverAborts.length < 2) await new Promise((r) => setTimeout(r, 1));
    controller.abort();
    await rejectsWith(call, Code.Canceled);
    await Promise.all(serverAborts);
  });
  await t.step("an already aborted signal fails at once", async () => {
    await rejectsWith(echo.echo({}, { signal: AbortSignal.abort() }), Code.Canceled);
  });
});

Deno.test("native transport runs 200 concurrent calls on one connection", async () => {
  await using dir = await socketDir();
  await using _server = await nativeConnector.listen(dir.path, allServices);
  await using channel = nativeConnector.dial(dir.path);
  const echo = createClient(FixtureService, channel.transport);
  const results = await Promise.all(
    Array.from(
      { length: 200 },
      (_, i) => echo.echo({ text: String(i), payload: new Uint8Array(i) }),
    ),
  );
  results.forEach((r, i) => {
    assert.equal(r.text, String(i));
    assert.equal(r.payload.length, i);
  });
});

Deno.test("native transport streams from the server", async (t) => {
  await using dir = await socketDir();
  await using _server = await nativeConnector.listen(dir.path, allServices);
  await using channel = nativeConnector.dial(dir.path);
  const stdio = createClient(GRPCStdio, channel.transport);
  await t.step("a few messages", async () => {
    const lines = [];
    for await (const m of stdio.streamStdio({})) lines.push(new TextDecoder().decode(m.data));
    assert.deepEqual(lines, ["line 0", "line 1", "line 2"]);
  });
  await t.step("no messages", async () => {
    let count = 0;
    for await (const _ of stdio.streamStdio({}, { headers: { "x-count": "0" } })) count++;
    assert.equal(count, 0);
  });
  await t.step("24 MiB with backpressure beyond the flow-control windows", async () => {
    let bytes = 0;
    let i = 0;
    const headers = { "x-count": "384", "x-size": "65536" };
    for await (const m of stdio.streamStdio({}, { headers })) {
      assert.equal(m.data[0], i++ & 0xff);
      bytes += m.data.length;
      if (i % 64 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    assert.equal(bytes, 384 * 65536);
  });
  await t.step("breaking out early leaves the connection usable", async () => {
    for await (const _ of stdio.streamStdio({}, { headers: { "x-count": "1", "x-hang": "1" } })) {
      break;
    }
    const echo = createClient(FixtureService, channel.transport);
    assert.equal((await echo.echo({ text: "after" })).text, "after");
  });
});

Deno.test("native transport cancels a stream whose response iterator is returned early", async () => {
  await using dir = await socketDir();
  let serverAborted!: (reason: unknown) => void;
  const reason = new Promise((resolve) => serverAborted = resolve);
  await using _server = await nativeConnector.listen(dir.path, [
    register(GRPCStdio, {
      async *streamStdio(_request, ctx) {
        yield { channel: StdioData_Channel.STDOUT, data: new Uint8Array([1]) };
        await aborted(ctx.signal);
        serverAborted(ctx.signal.reason);
      },
    }),
    fixture,
  ]);
  await using channel = nativeConnector.dial(dir.path);
  const response = await channel.transport.stream(
    GRPCStdio.method.streamStdio,
    undefined,
    undefined,
    undefined,
    (async function* () {
      yield {};
    })(),
  );
  for await (const _ of response.message) break; // Calls return(): RST_STREAM CANCEL.
  const error = await reason;
  assert.ok(error instanceof ConnectError, `expected ConnectError, got ${error}`);
  assert.equal(error.code, Code.Canceled);
  const echo = createClient(FixtureService, channel.transport);
  assert.equal((await echo.echo({ text: "after" })).text, "after");
});

Deno.test("native transport cancels a stream a typed client dropped after a break", async () => {
  // Connect's typed clients hide return(), so the transport learns of the
  // break only when the response iterator becomes garbage.
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      new URL("./_abandoned_stream.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(success);
  assert.equal(new TextDecoder().decode(stdout).trim(), "Canceled");
});

Deno.test("native transport runs bidi streams", async (t) => {
  await using dir = await socketDir();
  await using _server = await nativeConnector.listen(dir.path, allServices);
  await using channel = nativeConnector.dial(dir.path);
  const reflection = createClient(ServerReflection, channel.transport);
  await t.step("requests and responses interleave", async () => {
    async function* requests() {
      for (let i = 0; i < 50; i++) yield { host: `h${i}` };
    }
    const hosts = [];
    for await (const r of reflection.serverReflectionInfo(requests())) hosts.push(r.validHost);
    assert.deepEqual(hosts, Array.from({ length: 50 }, (_, i) => `re:h${i}`));
  });
  await t.step("an error mid-stream arrives after the earlier messages", async () => {
    async function* requests() {
      yield { host: "a" };
      yield { host: "fail" };
    }
    const hosts: string[] = [];
    const run = async () => {
      for await (const r of reflection.serverReflectionInfo(requests())) hosts.push(r.validHost);
    };
    await rejectsWith(run(), Code.FailedPrecondition);
    assert.deepEqual(hosts, ["re:a"]);
  });
});

Deno.test("native transport enforces message size limits", async (t) => {
  await using dir = await socketDir();
  await using _server = await nativeConnector.listen(dir.path, [fixture], { readMaxBytes: 1000 });
  await t.step("the client refuses to send a message over writeMaxBytes", async () => {
    await using channel = nativeConnector.dial(dir.path, { writeMaxBytes: 100 });
    const echo = createClient(FixtureService, channel.transport);
    await rejectsWith(echo.echo({ payload: new Uint8Array(200) }), Code.ResourceExhausted);
  });
  await t.step("the server refuses a message over its readMaxBytes", async () => {
    await using channel = nativeConnector.dial(dir.path);
    const echo = createClient(FixtureService, channel.transport);
    await rejectsWith(echo.echo({ payload: new Uint8Array(2000) }), Code.ResourceExhausted);
  });
  await t.step("the client refuses a response over its readMaxBytes", async () => {
    await using channel = nativeConnector.dial(dir.path, { readMaxBytes: 500 });
    const echo = createClient(FixtureService, channel.transport);
    await rejectsWith(echo.echo({ payload: new Uint8Array(900) }), Code.ResourceExhausted);
    assert.equal((await echo.echo({ text: "small" })).text, "small");
  });
});

Deno.test("native channel connects lazily and reconnects", async (t) => {
  await using dir = await socketDir();
  await using channel = nativeConnector.dial(dir.path);
  const echo = createClient(FixtureService, channel.transport);
  await t.step("no server is UNAVAILABLE", async () => {
    await rejectsWith(echo.echo({}), Code.Unavailable);
  });
  await t.step("a server started later is reached", async () => {
    await using _server = await nativeConnector.listen(dir.path, [fixture]);
    assert.equal((await echo.echo({ text: "1" })).text, "1");
  });
  await t.step("a restarted server is reached on the next call", async () => {
    await using _server = await nativeConnector.listen(dir.path, [fixture]);
    const first = await echo.echo({ text: "2" }).catch((e) => e);
    if (first instanceof Error) assert.equal((first as ConnectError).code, Code.Unavailable);
    assert.equal((await echo.echo({ text: "3" })).text, "3");
  });
  await t.step("a closed channel fails calls", async () => {
    await channel.close();
    await rejectsWith(echo.echo({}), Code.Canceled);
  });
});

Deno.test("native server close() mid-call fails the call with UNAVAILABLE", async () => {
  await using dir = await socketDir();
  const server = await nativeConnector.listen(dir.path, [fixture]);
  await using channel = nativeConnector.dial(dir.path);
  const echo = createClient(FixtureService, channel.transport);
  await echo.echo({});
  const call = echo.echo({ text: "hang" });
  await new Promise((r) => setTimeout(r, 10));
  await server.close();
  await rejectsWith(call, Code.Unavailable);
  await server.close();
});

Deno.test("native server shutdown() sends GOAWAY and lets calls in flight finish", async () => {
  await using dir = await socketDir();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  let started!: () => void;
  const running = new Promise<void>((resolve) => started = resolve);
  const slow = register(GreeterService, {
    async greet(request) {
      if (request.name !== "a") return { greeting: "early" };
      started();
      await gate;
      return { greeting: `late ${request.name}` };
    },
  });
  const server = await nativeConnector.listen(dir.path, [slow]);
  await using channel = nativeConnector.dial(dir.path);
  const greeter = createClient(GreeterService, channel.transport);
  const inFlight = greeter.greet({ name: "a" });
  await running;
  const shutdown = server.shutdown();
  // The socket file goes just before GOAWAY is sent; new calls are refused from then on.
  while (await Deno.stat(dir.path).then(() => true, () => false)) {
    await new Promise((r) => setTimeout(r, 1));
  }
  await rejectsWith(greeter.greet({ name: "b" }), Code.Unavailable);
  release();
  assert.equal((await inFlight).greeting, "late a");
  await shutdown;
  await server.close();
});

Deno.test("native transport rejects unknown compression with UNIMPLEMENTED", async () => {
  await using dir = await socketDir();
  await using _server = await nativeConnector.listen(dir.path, [fixture]);
  const { Connection } = await import("../../../src/transport/h2/connection.ts");
  const socket = await Deno.connect({ transport: "unix", path: dir.path });
  const conn = new Connection(socket, { role: "client" });
  conn.start();
  const fields: string[] = [];
  const done = new Promise<void>((resolve) => {
    const stream = conn.openStream({
      onHeaders(list) {
        fields.push(...(list ?? []));
        resolve();
      },
      onData() {},
      onAbort() {
        resolve();
      },
    });
    conn.sendHeaders(stream, [
      ":method",
      "POST",
      ":scheme",
      "http",
      ":path",
      "/bulkhead.testing.v1.FixtureService/Echo",
      ":authority",
      "x",
      "content-type",
      "application/grpc",
      "grpc-encoding",
      "gzip",
    ], true); // deno-fmt-ignore
  });
  await done;
  await conn.close();
  const status = fields[fields.indexOf("grpc-status") + 1];
  assert.equal(Number(status), Code.Unimplemented);
  assert.equal(fields[fields.indexOf("grpc-accept-encoding") + 1], "identity");
});

Deno.test("native server treats a grpc-timeout beyond a timer's range as no deadline", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bulkhead-h2-" });
  const path = `${dir}/s.sock`;
  const server = await nativeConnector.listen(path, [{
    service: GreeterService,
    implementation: {
      async greet(request: { name: string }) {
        await new Promise((r) => setTimeout(r, 50));
        return { greeting: `hello ${request.name}` };
      },
    },
  }]);
  const channel = nativeConnector.dial(path);
  try {
    const client = createClient(GreeterService, channel.transport);
    // 2^31 ms and more travels as seconds/minutes; it must not expire at once
    const reply = await client.greet({ name: "far" }, { timeoutMs: 2 ** 31 + 1000 });
    assert.equal(reply.greeting, "hello far");
  } finally {
    await channel.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("native transport: the compiled and protobuf-es codecs talk to each other", async (t) => {
  for (
    const [server, client] of [["protobuf-es", "compiled"], ["compiled", "protobuf-es"]] as const
  ) {
    await t.step(`${server} server, ${client} client`, async () => {
      await using dir = await socketDir();
      await using _server = await nativeConnector.listen(dir.path, allServices, { codec: server });
      await using channel = nativeConnector.dial(dir.path, { codec: client });
      const echo = createClient(FixtureService, channel.transport);
      const payload = new Uint8Array(300).map((_, i) => i);
      const response = await echo.echo({ payload, text: "héllo" });
      assert.deepEqual(response.payload, payload);
      assert.equal(response.pid, BigInt(Deno.pid));
      const reflection = createClient(ServerReflection, channel.transport);
      const requests = (async function* () {
        for (let i = 0; i < 20; i++) yield { host: `h${i}é` };
      })();
      const hosts = [];
      for await (const r of reflection.serverReflectionInfo(requests)) hosts.push(r.validHost);
      assert.deepEqual(hosts, Array.from({ length: 20 }, (_, i) => `re:h${i}é`));
    });
  }
  await t.step("an unknown codec name is a TypeError", () => {
    assert.throws(
      () => nativeConnector.dial("/nonexistent", { codec: "fast" as never }),
      TypeError,
    );
  });
});
