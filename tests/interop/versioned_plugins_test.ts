/**
 * go-plugin's `VersionedPlugins` across languages: a go-plugin 1.0.1 Go
 * plugin with a plugin set per protocol version under our host, and our
 * Deno plugin with `serve({ versions })` under a go-plugin 1.0.1 Go host
 * with `ClientConfig.VersionedPlugins`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { HandshakeError, Plugin } from "../../mod.ts";
import { KvService } from "../../src/gen/bulkhead/examples/kv/v1/kv_pb.ts";
import { goBinaries, KV_COOKIE, named, noGo, ROOT, run } from "./_toolchains.ts";

const VERSIONED = `${ROOT}/tests/fixtures/versioned_plugin.ts`;

Deno.test({
  name: named(
    "our host negotiates a go-plugin plugin's VersionedPlugins: the highest common version's set",
    noGo,
  ),
  ignore: noGo !== undefined,
  async fn(t) {
    const { versionedPlugin } = await goBinaries();
    for (const [offered, expected] of [[[1], 1], [[1, 2], 2], [[2, 3], 2]] as const) {
      await t.step(`host offers ${offered.join(",")}: version ${expected}`, async () => {
        await using plugin = await Plugin.start({
          command: versionedPlugin,
          cookie: KV_COOKIE,
          protocolVersions: [...offered],
          logger: () => {},
        });
        assert.equal(plugin.handshake.appVersion, expected);
        const kv = plugin.client(KvService);
        await kv.put({ key: "k", value: "x" });
        assert.equal((await kv.get({ key: "k" })).value, `v${expected}:x`);
      });
    }
    await t.step("host offers 3 only: refused, naming the version", async () => {
      const error = await Plugin.start({
        command: versionedPlugin,
        cookie: KV_COOKIE,
        protocolVersions: [3],
        logger: () => {},
      }).then(() => undefined, (e) => e);
      assert.ok(error instanceof HandshakeError, String(error));
      assert.equal(error.reason, "app-version");
    });
  },
});

Deno.test({
  name: named(
    "a go-plugin host with VersionedPlugins negotiates version 2 with serve({ versions: { 2 } })",
    noGo,
  ),
  ignore: noGo !== undefined,
  async fn() {
    const { goHost } = await goBinaries();
    const tmp = await Deno.makeTempDir({ prefix: "bulkhead-versioned-" });
    try {
      const deno = [Deno.execPath(), "run", "--no-prompt", "--allow-env", `--allow-read=${tmp}`];
      const plugin = [...deno, `--allow-write=${tmp}`, "--allow-net", VERSIONED, "kv-v2"];
      const both = await run(goHost, ["-versions", "1,2", ...plugin], { env: { TMPDIR: tmp } });
      assert.equal(both.code, 0, `${both.stdout}\n${both.stderr}`);
      const lines = both.stdout.trim().split("\n").filter((l) => !l.startsWith("pid "));
      assert.deepEqual(lines, [
        "protocol grpc",
        "version 2",
        "ping ok",
        "put ok",
        'get b = "2" found=true',
        'get missing = "" found=false',
        "list a,b,c",
        "killed exited=true graceful=true",
      ]);
      const v1 = await run(goHost, ["-versions", "1", ...plugin], { env: { TMPDIR: tmp } });
      assert.notEqual(v1.code, 0);
      assert.match(v1.stderr, /host offers protocol version\(s\) 1, this plugin speaks 2/);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
