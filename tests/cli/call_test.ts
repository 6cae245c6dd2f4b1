/**
 * `bulkhead call` through the real CLI: plugins that serve no reflection
 * (descriptors from --proto or --protoset), all four kinds of method,
 * metadata, deadlines, Ctrl-C, and exit code 2 for every usage error.
 *
 * @module
 */
import assert from "node:assert/strict";
import { create, toBinary } from "../../src/npm/protobuf.ts";
import { file_google_protobuf_any, FileDescriptorSetSchema } from "../../src/npm/protobuf_wkt.ts";
import { file_bulkhead_testing_v1_interop } from "../../src/gen/bulkhead/testing/v1/interop_pb.ts";
import { missing, PYTHON, runs } from "../_helpers.ts";
import { cli, readUntil, ROOT } from "./_cli.ts";
import { goBinaries, KV_COOKIE, noGo } from "../interop/_toolchains.ts";

const PLUGIN = "tests/cli/fixtures/stream_plugin.ts";
const SERVICE = "bulkhead.testing.v1.InteropService";
const PROTO = ["--proto", "proto/bulkhead/testing/v1/interop.proto", "--import-path", "proto"];

Deno.test("call without reflection and without descriptors says which flags help, exit 2", async () => {
  const result = await cli(["call", `${SERVICE}/Unary`, "{}", "--", PLUGIN]);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /serves no gRPC reflection/);
  assert.match(result.stderr, /--proto FILE \[--import-path DIR\]/);
  assert.match(result.stderr, /--protoset FILE/);
});

Deno.test("call --proto compiles the .proto with buf and streams server responses as JSON lines", async () => {
  const result = await cli([
    "call",
    "-q",
    ...PROTO,
    `${SERVICE}/ServerStream`,
    '{"count":3}',
    "--",
    PLUGIN,
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.stdout.trimEnd().split("\n").map((line) => JSON.parse(line)), [
    {},
    { index: 1 },
    { index: 2 },
  ]);
});

Deno.test("call --protoset reads a binary FileDescriptorSet; a bad one is exit 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const set = create(FileDescriptorSetSchema, {
      file: [file_google_protobuf_any.proto, file_bulkhead_testing_v1_interop.proto],
    });
    await Deno.writeFile(`${dir}/interop.binpb`, toBinary(FileDescriptorSetSchema, set));
    const ok = await cli([
      "call",
      "-q",
      "--protoset",
      `${dir}/interop.binpb`,
      `${SERVICE}/Unary`,
      '{"payload":"aGk="}',
      "--",
      PLUGIN,
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { payload: "aGk=" });

    await Deno.writeTextFile(`${dir}/bad.binpb`, "not a descriptor set\n");
    const bad = await cli([
      "call",
      "--protoset",
      `${dir}/bad.binpb`,
      `${SERVICE}/Unary`,
      "--",
      PLUGIN,
    ]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--protoset .*bad\.binpb: not a binary FileDescriptorSet/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("call reads client-streaming and bidi requests as JSON lines from stdin", async (t) => {
  const lines = '{"payload":"YWJj"}\n\n{"payload":"ZA=="}\n';
  await t.step("client streaming: one response for all", async () => {
    const result = await cli(
      ["call", "-q", ...PROTO, `${SERVICE}/ClientStream`, "--", PLUGIN],
      lines,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { index: 2, receivedBytes: "4" });
  });
  await t.step("bidi: one response a line", async () => {
    const result = await cli(["call", "-q", ...PROTO, `${SERVICE}/Bidi`, "-", "--", PLUGIN], lines);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trimEnd().split("\n").map((line) => JSON.parse(line)), [
      { payload: "YWJj" },
      { index: 1, payload: "ZA==" },
    ]);
  });
  await t.step("a bad line is a usage error naming the line", async () => {
    const result = await cli(
      ["call", "-q", ...PROTO, `${SERVICE}/Bidi`, "--", PLUGIN],
      '{"payload":"YWJj"}\n{nope\n',
    );
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /stdin: line 2: /);
  });
});

Deno.test("call -H sends metadata and --max-time sets the deadline", async () => {
  const result = await cli([
    "call",
    "-q",
    ...PROTO,
    "-H",
    "X-Tag: hello there",
    "--max-time",
    "5",
    `${SERVICE}/Observe`,
    "--",
    PLUGIN,
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), { ended: "hello there", hadDeadline: true });
});

Deno.test("call --max-time ends a stream that outlives it with DEADLINE_EXCEEDED, exit 1", async () => {
  const result = await cli([
    "call",
    ...PROTO,
    "--max-time",
    "0.5",
    `${SERVICE}/ServerStream`,
    '{"count":1,"hangTag":"deadline"}',
    "--",
    PLUGIN,
  ]);
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.stdout, "{}\n");
  assert.match(result.stderr, /DEADLINE_EXCEEDED/);
});

Deno.test("Ctrl-C during a server stream cancels it: the plugin sees the cancellation, exit 130", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "cli.ts",
      "call",
      ...PROTO,
      `${SERVICE}/ServerStream`,
      '{"count":2,"hangTag":"t1"}',
      "--",
      PLUGIN,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
  }).spawn();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const out = { text: "" };
  const err = { text: "" };
  try {
    await readUntil(stdout, out, /\{"index":1\}\n/);
    await readUntil(stderr, err, /holding t1/); // the plugin holds the stream open
    child.kill("SIGINT");
  } finally {
    for (const [reader, seen] of [[stdout, out], [stderr, err]] as const) {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        seen.text += value;
      }
    }
  }
  const status = await child.status;
  assert.equal(status.code, 130, err.text);
  assert.match(err.text, /cancelled t1/); // RST_STREAM CANCEL reached the handler
  assert.match(err.text, /interrupted/);
  assert.equal(out.text, '{}\n{"index":1}\n');
});
Deno.test("every usage error of call exits 2", async (t) => {
  const cases: [string, string[], RegExp][] = [
    [
      "unknown method",
      [...PROTO, `${SERVICE}/Nope`],
      /Cannot find method "Nope".*its methods: Unary/,
    ],
    ["unknown service", [...PROTO, "no.Such/Thing"], /Cannot find service "no.Such"/],
    ["bad JSON", [...PROTO, `${SERVICE}/Unary`, "{nope"], /Cannot read the request/],
    [
      "JSON of the wrong shape",
      [...PROTO, `${SERVICE}/Unary`, '{"count":"many"}'],
      /Cannot use request 1/,
    ],
    ["bad flag", ["--nope", `${SERVICE}/Unary`], /Unknown option --nope/],
    ["bad header", ["-H", "novalue", `${SERVICE}/Unary`], /-H must be 'name: value'/],
    ["bad --max-time", ["--max-time", "soon", `${SERVICE}/Unary`], /--max-time must be/],
    [
      "two requests for a unary method",
      [...PROTO, `${SERVICE}/Unary`, "{}\n{}"],
      /takes exactly one request, got 2/,
    ],
    ["a .proto that does not compile", [
      "--proto",
      "tests/cli/fixtures/broken.proto",
      `${SERVICE}/Unary`,
    ], /broken\.proto:4:\d+: /],
  ];
  for (const [name, args, expected] of cases) {
    await t.step(name, async () => {
      const result = await cli(["call", "-q", ...args, "--", PLUGIN]);
      assert.equal(result.code, 2, `${name}: ${result.stderr}`);
      assert.match(result.stderr, expected);
      assert.doesNotMatch(result.stderr, /^\s+at /m);
    });
  }
});

const noPython = missing({
  "python3-grpcio and python3-protobuf": runs(PYTHON, ["-c", "import grpc, google.protobuf"]),
});

Deno.test({
  name: `call reaches a Python go-plugin plugin that serves no reflection, through --proto${
    noPython ? ` [skipped: ${noPython}]` : ""
  }`,
  ignore: noPython !== undefined,
  fn: async () => {
    const result = await cli([
      "call",
      "-q",
      "--cookie",
      "BULKHEAD_KV_PLUGIN=kv-3f9c2e61-interop",
      "--proto",
      "proto/bulkhead/examples/kv/v1/kv.proto",
      "--import-path",
      "proto",
      "bulkhead.examples.kv.v1.KvService/List",
      "--",
      PYTHON,
      "examples/kv-python/kv_plugin.py",
      "--no-reflection",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), {});
  },
});

Deno.test({
  name: `call reaches a go-plugin 1.0.1 Go plugin that serves no reflection, through --proto${
    noGo ? ` [skipped: ${noGo}]` : ""
  }`,
  ignore: noGo !== undefined,
  fn: async () => {
    const { kvGo } = await goBinaries();
    const cookie = `${KV_COOKIE.key}=${KV_COOKIE.value}`;
    const args = (method: string, request: string, descriptors: string[]) => [
      "call",
      "-q",
      "--cookie",
      cookie,
      ...descriptors,
      `bulkhead.examples.kv.v1.KvService/${method}`,
      request,
      "--",
      kvGo,
      "--no-reflection",
    ];
    const blind = await cli(args("List", "{}", []));
    assert.equal(blind.code, 2, blind.stderr);
    assert.match(blind.stderr, /serves no gRPC reflection/);
    const result = await cli(
      args("Get", '{"key":"absent"}', [
        "--proto",
        "proto/bulkhead/examples/kv/v1/kv.proto",
        "--import-path",
        "proto",
      ]),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), {});
  },
});
