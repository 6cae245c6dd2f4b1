import assert from "node:assert/strict";
import { Plugin } from "../../mod.ts";
import { FixtureService } from "../../src/gen/bulkhead/testing/v1/fixture_pb.ts";
import { FIXTURE } from "../_helpers.ts";

Deno.test("a Deno plugin gets nothing it was not granted, and the host is unaffected", async (t) => {
  const secret = await Deno.makeTempFile({ prefix: "bulkhead-secret-" });
  await Deno.writeTextFile(secret, "top secret");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    await using plugin = await Plugin.start({
      module: FIXTURE,
      args: ["ok"],
      logger: () => {},
    });
    const act = async (action: string) =>
      (await plugin.client(FixtureService).act({ action })).result;
    assert.ok(plugin.info().sandboxed);
    assert.deepEqual(plugin.info().sandboxEscapes, []);

    await t.step("reading a file", async () => {
      assert.equal(await act(`read:${secret}`), "error:NotCapable");
    });
    await t.step("writing a file", async () => {
      assert.equal(await act(`write:${secret}`), "error:NotCapable");
      assert.equal(await Deno.readTextFile(secret), "top secret");
    });
    await t.step("connecting over TCP", async () => {
      assert.equal(await act(`connect:127.0.0.1:${port}`), "error:NotCapable");
    });
    await t.step("reading the host's environment", async () => {
      assert.equal(await act("env:HOME"), "error:NotCapable");
    });
    await t.step("running a program", async () => {
      assert.equal(await act("run:/bin/true"), "error:NotCapable");
    });
    await t.step("making Deno fetch an npm package named at run time", async () => {
      const name = `bulkhead-exfil-${crypto.randomUUID().slice(0, 8)}`;
      assert.match(await act(`import:npm:${name}`), /^error:/);
    });
    await t.step("making Deno fetch a remote module", async () => {
      assert.match(await act("import:https://example.com/x.ts"), /^error:/);
    });
    await t.step("the plugin still serves afterwards", async () => {
      assert.equal(await plugin.health(), "SERVING");
    });
  } finally {
    listener.close();
    await Deno.remove(secret);
  }
});

Deno.test("a Deno plugin can use exactly what it was granted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bulkhead-grant-" });
  await Deno.writeTextFile(`${dir}/data.txt`, "12345");
  const other = await Deno.makeTempFile({ prefix: "bulkhead-other-" });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const accepted = listener.accept().then((conn) => conn.close());
  try {
    await using plugin = await Plugin.start({
      module: FIXTURE,
      args: ["ok"],
      logger: () => {},
      permissions: { read: [dir], net: [`127.0.0.1:${port}`] },
    });
    const act = async (action: string) =>
      (await plugin.client(FixtureService).act({ action })).result;
    assert.equal(await act(`read:${dir}/data.txt`), "ok:5");
    assert.equal(await act(`read:${other}`), "error:NotCapable");
    assert.equal(await act(`write:${dir}/data.txt`), "error:NotCapable");
    assert.equal(await act(`connect:127.0.0.1:${port}`), "ok:connected");
    assert.ok(
      plugin.info().permissionFlags.includes(`--allow-read=${plugin.handshake.address},${dir}`),
    );
    await accepted;
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(other);
  }
});

Deno.test("unsafe grants are reported as sandbox escapes", async () => {
  await using plugin = await Plugin.start({
    module: FIXTURE,
    args: ["ok"],
    logger: () => {},
    permissions: { unsafeRun: ["/bin/true"] },
  });
  assert.equal(
    (await plugin.client(FixtureService).act({ action: "run:/bin/true" })).result,
    "ok:0",
  );
  assert.equal(plugin.info().sandboxEscapes.length, 1);
  assert.match(plugin.info().sandboxEscapes[0]!, /not sandboxed/);
});
