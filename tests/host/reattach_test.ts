/**
 * Reattach with real processes: a host (tests/fixtures/reattach_host.ts)
 * starts a KV plugin, puts state in it, is stopped by SIGTERM and writes its
 * reattach config; this test process is the successor.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Plugin, ReattachError } from "../../mod.ts";
import { KvService } from "../../src/gen/bulkhead/examples/kv/v1/kv_pb.ts";
import { KV_COOKIE } from "../../examples/kv-deno/cookie.ts";
import {
  certificateDer,
  generateCertificate,
  handshakeCertificate,
} from "../../src/protocol/auto_mtls.ts";
import { assertCleanedUp, exists, isAlive, memoryLogger, waitFor } from "../_helpers.ts";
import { hostStoppedBySigterm, sweep } from "../_reattach_host.ts";

const KV_DENO = new URL("../../examples/kv-deno/plugin.ts", import.meta.url).href;

Deno.test("Plugin.attach adopts a reattachable Deno plugin whose host was stopped by SIGTERM, with its state", async () => {
  const left = await hostStoppedBySigterm({
    module: KV_DENO,
    reattachable: true,
    reattachWindowMs: 120_000,
  });
  try {
    const config = left.config!;
    assert.equal(config.pid, left.pid);
    assert.ok(isAlive(left.pid), "the plugin died with its host");
    assert.ok(isAlive(config.watchdog.pid), "its guardian is gone");
    const { records, logger } = memoryLogger();
    await using plugin = await Plugin.attach(JSON.parse(JSON.stringify(config)), { logger });
    assert.equal(plugin.pid, left.pid);
    assert.equal(plugin.state, "ready");
    assert.equal(await plugin.health(), "SERVING");
    const kv = plugin.client(KvService);
    assert.deepEqual({ ...await kv.get({ key: "greeting" }) }.value, "hello");
    await kv.put({ key: "after", value: "attach" });
    // the plugin's stderr reaches the successor, through its reopened pipe:
    // what it wrote while it waited (held by its guardian meanwhile) and after
    const said = (text: string) => records.some((r) => r.message.includes(text));
    assert.ok(await waitFor(() => said("put after"), 30_000), JSON.stringify(records));
    assert.ok(said("waiting 120000 ms for a successor"), JSON.stringify(records));
    // the SDK saw its successor arrive: its own window is cancelled (it
    // looks at its stdin on a timer, so the line may come after the put's)
    assert.ok(
      await waitFor(() => said("a successor host attached"), 30_000),
      JSON.stringify(records),
    );
    // the old guardian was replaced: the successor's watches the plugin now
    assert.ok(await waitFor(() => !isAlive(config.watchdog.pid), 30_000));
    const next = plugin.reattachConfig();
    assert.notEqual(next.watchdog.pid, config.watchdog.pid);
    assert.equal(next.token, config.token);
    assert.ok(isAlive(next.watchdog.pid));
    // the old config names a guardian that is gone
    await assert.rejects(
      () => Plugin.attach(config),
      (e) => e instanceof ReattachError && e.reason === "stale",
    );
    await plugin.stop();
    assertCleanedUp(left.pid, left.socketDir);
    assert.ok(await waitFor(() => !isAlive(next.watchdog.pid), 30_000));
  } finally {
    sweep(left);
  }
});

Deno.test("a reattachable plugin with no successor outlives its host, then it and its guardian are gone after the window", async () => {
  const left = await hostStoppedBySigterm({
    module: KV_DENO,
    reattachable: true,
    reattachWindowMs: 5000,
  });
  try {
    const config = left.config!;
    // the promise relaxed: not at once…
    assert.ok(isAlive(left.pid) && exists(left.socketDir));
    // …but after the window, as for any plugin whose host died
    assert.ok(await waitFor(() => !isAlive(left.pid), 60_000), "the plugin outlived its window");
    assert.ok(
      await waitFor(() => !exists(left.socketDir), 60_000),
      "its socket directory was left",
    );
    assert.ok(await waitFor(() => !isAlive(config.watchdog.pid), 60_000), "its guardian was left");
    // a config for a plugin that is gone is refused, and says why
    await assert.rejects(
      () => Plugin.attach(config),
      (e) =>
        e instanceof ReattachError && e.reason === "stale" && e.plugin === config.name &&
        /is gone/.test(e.message),
    );
  } finally {
    sweep(left);
  }
});

Deno.test("a plugin that is not reattachable still dies with its host stopped by SIGTERM", async () => {
  const left = await hostStoppedBySigterm({ module: KV_DENO });
  try {
    assert.equal(left.config, undefined);
    assert.ok(await waitFor(() => !isAlive(left.pid), 30_000), "the plugin outlived its host");
    assert.ok(await waitFor(() => !exists(left.socketDir), 30_000));
  } finally {
    sweep(left);
  }
});

Deno.test("Plugin.attach refuses a forged, stale or malformed config before it touches anything", async (t) => {
  const left = await hostStoppedBySigterm({
    module: KV_DENO,
    reattachable: true,
    reattachWindowMs: 120_000,
  });
  const config = left.config!;
  const refused = async (value: unknown, reason: string, pattern?: RegExp) => {
    await assert.rejects(() => Plugin.attach(value), (e) => {
      assert.ok(e instanceof ReattachError, String(e));
      assert.equal(e.reason, reason, e.message);
      if (pattern) assert.match(e.message, pattern);
      return true;
    });
    // nothing was touched: the plugin and its guardian still run
    assert.ok(isAlive(config.pid) && isAlive(config.watchdog.pid));
  };
  const other = await Deno.makeTempDir({ prefix: "bulkhead-forged-" });
  try {
    await t.step("malformed", async () => {
      await refused("not an object", "malformed");
      await refused({ ...config, version: 2 }, "malformed", /version/);
      await refused({ ...config, pid: "1" }, "malformed", /pid/);
      await refused({ ...config, address: "/run/docker.sock" }, "malformed", /address/);
      await refused({ ...config, address: `${config.socketDir}/../x.sock` }, "malformed");
      await refused({ ...config, protocol: "netrpc" }, "malformed");
    });
    await t.step("another token", async () => {
      await refused({ ...config, token: "0".repeat(64) }, "mismatch", /token/);
    });
    await t.step("a pid that is not the plugin's", async () => {
      // a living process of this user's, with its true start time: not that plugin
      const start = Deno.readTextFileSync(`/proc/${Deno.pid}/stat`);
      const startTime = start.slice(start.lastIndexOf(")") + 2).split(" ")[19]!;
      await refused({ ...config, pid: Deno.pid, pidStartTime: startTime }, "mismatch");
      // the plugin's pid with another start time: a reused pid
      await refused({ ...config, pidStartTime: "1" }, "stale", /another process/);
      // the guardian's pid with another start time
      await refused({ ...config, watchdog: { ...config.watchdog, startTime: "1" } }, "stale");
      // a guardian that is not one (this test process)
      await refused({ ...config, watchdog: { pid: Deno.pid, startTime } }, "mismatch");
    });
    await t.step("a directory that is not a socket directory", async () => {
      await Deno.chmod(other, 0o755);
      await refused(
        { ...config, socketDir: other, address: `${other}/plugin.sock` },
        "mismatch",
        /0700/,
      );
      await Deno.chmod(other, 0o700);
      // a 0700 directory of this user's that is not that plugin's
      await refused({ ...config, socketDir: other, address: `${other}/plugin.sock` }, "mismatch");
      await refused(
        { ...config, socketDir: `${other}/gone`, address: `${other}/gone/p.sock` },
        "stale",
      );
    });
    await t.step("a plugin that is not reattachable has no config", async () => {
      await using plugin = await Plugin.start({
        module: KV_DENO,
        cookie: KV_COOKIE,
        logger: () => {},
      });
      assert.throws(() => plugin.reattachConfig(), TypeError);
    });
    await t.step("the true config still attaches", async () => {
      await using plugin = await Plugin.attach(config, { logger: () => {} });
      assert.equal((await plugin.client(KvService).get({ key: "greeting" })).value, "hello");
    });
    assert.ok(await waitFor(() => !isAlive(config.pid) && !exists(config.socketDir), 30_000));
  } finally {
    await Deno.remove(other, { recursive: true });
    sweep(left);
  }
});

Deno.test("an AutoMTLS plugin is adopted with its pinned certificate and the host's key from the config; another certificate is refused", async () => {
  const left = await hostStoppedBySigterm({
    module: KV_DENO,
    reattachable: true,
    reattachWindowMs: 120_000,
    autoMtls: true,
  });
  try {
    const config = left.config!;
    assert.notEqual(config.serverCert, "");
    assert.ok(config.clientCert?.privateKey.startsWith("-----BEGIN PRIVATE KEY-----"));
    const other = await generateCertificate();
    const impostor = handshakeCertificate(certificateDer(other.certificate));
    for (const forged of [{ ...config, serverCert: impostor }, { ...config, clientCert: other }]) {
      await assert.rejects(
        () => Plugin.attach(forged, { logger: () => {}, signal: AbortSignal.timeout(20_000) }),
        (e) => e instanceof ReattachError && e.reason === "unreachable",
      );
      // left as it was
      assert.ok(isAlive(config.pid) && isAlive(config.watchdog.pid));
    }
    await using plugin = await Plugin.attach(config, { logger: () => {} });
    assert.equal((await plugin.client(KvService).get({ key: "greeting" })).value, "hello");
  } finally {
    sweep(left);
  }
});
