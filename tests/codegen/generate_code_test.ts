import assert from "node:assert/strict";
import { join } from "node:path";
import { generateCode, PROTOBUF_ES_VERSION, ProtoCompileError } from "../../gen.ts";
import { BUF_VERSION } from "../../src/npm/versions.ts";

const root = new URL("../..", import.meta.url).pathname;

const PROTO = `syntax = "proto3";
package acme.counter.v1;
import "acme/counter/v1/types.proto";
service CounterService {
  rpc Add(AddRequest) returns (Total);
  rpc Count(AddRequest) returns (stream Total);
}
`;
const TYPES = `syntax = "proto3";
package acme.counter.v1;
message AddRequest { int64 delta = 1; }
import "google/protobuf/timestamp.proto";
message Total { int64 total = 1; google.protobuf.Timestamp at = 2; }
`;

async function protoDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "bulkhead-gen-test-" });
  await Deno.mkdir(join(dir, "proto/acme/counter/v1"), { recursive: true });
  await Deno.writeTextFile(join(dir, "proto/acme/counter/v1/counter.proto"), PROTO);
  await Deno.writeTextFile(join(dir, "proto/acme/counter/v1/types.proto"), TYPES);
  return dir;
}

Deno.test("generateCode() writes code that type-checks with no import map", async (t) => {
  const dir = await protoDir();
  try {
    await t.step("a directory", async () => {
      const { files } = await generateCode([join(dir, "proto")], { out: join(dir, "gen") });
      assert.deepEqual(files, [
        join(dir, "gen/acme/counter/v1/counter_pb.ts"),
        join(dir, "gen/acme/counter/v1/types_pb.ts"),
      ]);
      const text = await Deno.readTextFile(files[0]!);
      assert.match(
        text,
        new RegExp(`from "npm:@bufbuild/protobuf@${PROTOBUF_ES_VERSION}/codegenv2"`),
      );
      assert.match(text, /from "\.\/types_pb\.ts"/);
      assert.doesNotMatch(text, /from "@bufbuild/);
      // a well-known type: its import is pinned too
      const types = await Deno.readTextFile(files[1]!);
      assert.match(types, new RegExp(`from "npm:@bufbuild/protobuf@${PROTOBUF_ES_VERSION}/wkt"`));
      // from a directory with no deno.json: no import map can help
      const check = await new Deno.Command(Deno.execPath(), {
        args: ["check", "--no-config", "--no-lock", ...files],
        cwd: dir,
        stdout: "null",
        stderr: "piped",
      }).output();
      assert.equal(check.code, 0, new TextDecoder().decode(check.stderr));
    });
    await t.step("single files with a root", async () => {
      const { files } = await generateCode(
        [join(dir, "proto/acme/counter/v1/types.proto")],
        { out: join(dir, "gen2"), root: join(dir, "proto") },
      );
      assert.deepEqual(files, [join(dir, "gen2/acme/counter/v1/types_pb.ts")]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generateCode() reports buf's file:line:column and writes nothing", async () => {
  const dir = await protoDir();
  try {
    await Deno.writeTextFile(
      join(dir, "proto/acme/counter/v1/types.proto"),
      TYPES.replace("int64 delta", "int65 delta"),
    );
    const error = await generateCode([join(dir, "proto")], { out: join(dir, "gen") }).then(
      () => assert.fail("expected a ProtoCompileError"),
      (e) => e,
    );
    assert.ok(error instanceof ProtoCompileError, String(error));
    const [first] = error.diagnostics;
    assert.ok(first?.file.endsWith("acme/counter/v1/types.proto"), first?.file);
    assert.equal(first?.line, 3);
    assert.match(error.message, /types\.proto:3:\d+: .*int65/);
    await assert.rejects(Deno.stat(join(dir, "gen")), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generateCode() refuses what is neither a directory nor a .proto", async () => {
  await assert.rejects(generateCode([], { out: "x" }), TypeError);
  await assert.rejects(generateCode([join(root, "deno.json")], { out: "x" }), TypeError);
  await assert.rejects(generateCode([join(root, "no-such-dir")], { out: "x" }), TypeError);
});

Deno.test("src/npm/versions.ts names the versions src/npm/ and buf.gen.yaml import", async () => {
  for await (const entry of Deno.readDir(join(root, "src/npm"))) {
    const text = await Deno.readTextFile(join(root, "src/npm", entry.name));
    for (const [, version] of text.matchAll(/npm:@bufbuild\/protobuf@([0-9.]+)/g)) {
      assert.equal(version, PROTOBUF_ES_VERSION, `src/npm/${entry.name}`);
    }
  }
  const yaml = await Deno.readTextFile(join(root, "buf.gen.yaml"));
  assert.match(yaml, new RegExp(`protoc-gen-es@${PROTOBUF_ES_VERSION.replaceAll(".", "\\.")}"`));
  assert.match(await Deno.readTextFile(join(root, "tools/gen.ts")), /BUF_VERSION/);
  assert.match(BUF_VERSION, /^\d+\.\d+\.\d+$/);
});
