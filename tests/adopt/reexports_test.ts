import assert from "node:assert/strict";

const repo = new URL("../..", import.meta.url);

// A user's host that imports nothing but mod.ts (and its own generated
// code): Connect's errors and clients and protobuf-es's create come from
// Bulkhead, so instanceof holds without an npm import of the user's own.
const HOST = `import { Code, ConnectError, create, createClient, Plugin } from "${
  new URL("mod.ts", repo).href
}";
import { ActRequestSchema, FixtureService } from "${
  new URL("src/gen/bulkhead/testing/v1/fixture_pb.ts", repo).href
}";
await using plugin = await Plugin.start({
  module: "${new URL("examples/greeter/plugin.ts", repo).href}",
  logger: () => {},
});
const client = createClient(FixtureService, plugin.transport);
try {
  await client.act(create(ActRequestSchema, { action: "x" }));
  console.log("no error");
} catch (error) {
  console.log(error instanceof ConnectError, error instanceof ConnectError && error.code === Code.Unimplemented);
}
`;

Deno.test("a host importing only mod.ts catches Bulkhead's errors as ConnectError", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bulkhead-reexports-" });
  try {
    await Deno.writeTextFile(`${dir}/host.ts`, HOST);
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--no-lock", "-A", "host.ts"],
      cwd: dir,
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    assert.equal(new TextDecoder().decode(stdout), "true true\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
