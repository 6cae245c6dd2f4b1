/**
 * Reattach with go-plugin 1.0.1's Go side (Debian): examples/kv-go in its
 * bubblewrap sandbox, started reattachable by a host that is stopped by
 * SIGTERM. A successor adopts it with its state; with no successor, the
 * whole sandbox (the wrapper shell, bwrap, the Go plugin) is gone after the
 * window. And go-plugin's own host reattaches to a Bulkhead-started plugin
 * from the address, pid and protocol of our config (go-plugin's
 * `ReattachConfig`).
 *
 * @module
 */
import assert from "node:assert/strict";
import { Plugin } from "../../mod.ts";
import { KvService } from "../../src/gen/bulkhead/examples/kv/v1/kv_pb.ts";
import { assertCleanedUp, exists, isAlive, waitFor } from "../_helpers.ts";
import { hostStoppedBySigterm, sweep } from "../_reattach_host.ts";
import { goBinaries, named, noGo, run } from "./_toolchains.ts";

/** `pid` and every process below it, by parent links in /proc. */
function tree(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      parents.set(Number(entry.name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found = [pid];
  for (let i = 0; i < found.length; i++) {
    for (const [child, parent] of parents) if (parent === found[i]) found.push(child);
  }
  return found;
}

Deno.test({
  name: named(
    "a successor adopts sandboxed kv-go (go-plugin 1.0.1) with its state after its host's SIGTERM",
    noGo,
  ),
  ignore: noGo !== undefined,
  async fn() {
    const { kvGo } = await goBinaries();
    const left = await hostStoppedBySigterm({
      command: kvGo,
      reattachable: true,
      reattachWindowMs: 120_000,
    });
    try {
      const config = left.config!;
      assert.equal(config.sandbox, "bubblewrap");
      await using plugin = await Plugin.attach(config, { logger: () => {} });
      const kv = plugin.client(KvService);
      const got = await kv.get({ key: "greeting" });
      assert.equal(got.value, "hello");
      assert.equal(got.found, true);
      await kv.put({ key: "b", value: "2" });
      assert.deepEqual((await kv.list({ prefix: "" })).keys, ["b", "greeting"]);
      const pids = tree(left.pid);
      assert.ok(pids.length >= 3, `the sandbox is the wrapper, bwrap and kv-go: ${pids}`);
      await plugin.stop();
      assertCleanedUp(left.pid, left.socketDir);
      assert.ok(await waitFor(() => !pids.some(isAlive), 30_000), "part of the sandbox was left");
    } finally {
      sweep(left);
    }
  },
});

Deno.test({
  name: named(
    "with no successor, sandboxed kv-go's whole sandbox is gone after the reattach window",
    noGo,
  ),
  ignore: noGo !== undefined,
  async fn() {
    const { kvGo } = await goBinaries();
    const left = await hostStoppedBySigterm({
      command: kvGo,
      reattachable: true,
      reattachWindowMs: 5000,
    });
    try {
      const pids = tree(left.pid);
      assert.ok(pids.length >= 3, `the sandbox is the wrapper, bwrap and kv-go: ${pids}`);
      assert.ok(exists(left.socketDir));
      assert.ok(
        await waitFor(() => !pids.some(isAlive), 60_000),
        "the sandbox outlived its window",
      );
      assert.ok(await waitFor(() => !exists(left.socketDir), 60_000));
      assert.ok(await waitFor(() => !isAlive(left.config!.watchdog.pid), 60_000));
    } finally {
      sweep(left);
    }
  },
});

Deno.test({
  name: named(
    "go-plugin 1.0.1's host reattaches to a Bulkhead-started plugin from our config's address, pid and protocol",
    noGo,
  ),
  ignore: noGo !== undefined,
  async fn() {
    const { goHost, kvGo } = await goBinaries();
    const left = await hostStoppedBySigterm({
      command: kvGo,
      reattachable: true,
      reattachWindowMs: 120_000,
    });
    try {
      const config = left.config!;
      // go-plugin's ReattachConfig is { Protocol, Addr, Pid }: ours carries all three
      const result = await run(goHost, [
        "-reattach",
        `${config.protocol},${config.network},${config.address},${config.pid}`,
      ]);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stdout, /^get greeting = "hello" found=true$/m);
      // go-plugin's host does not take the guardian's place: the plugin still
      // waits for a Bulkhead successor, which can still adopt it
      await using plugin = await Plugin.attach(config, { logger: () => {} });
      assert.equal((await plugin.client(KvService).get({ key: "greeting" })).value, "hello");
    } finally {
      sweep(left);
    }
  },
});
