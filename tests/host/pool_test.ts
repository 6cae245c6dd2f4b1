import assert from "node:assert/strict";
import { Code, ConnectError, createClient, createContextValues } from "../../src/npm/connect.ts";
import { FixtureService } from "../../src/gen/bulkhead/testing/v1/fixture_pb.ts";
import { PluginCrashedError, PluginError } from "../../src/host/errors.ts";
import { guardedTransport, RETRYABLE } from "../../src/host/guarded_transport.ts";
import type { Lease } from "../../src/host/lease.ts";
import { PluginPool } from "../../src/host/pool.ts";
import { FIXTURE } from "../_helpers.ts";

function pool(size: number) {
  return PluginPool.start({
    plugin: {
      module: FIXTURE,
      args: ["ok"],
      name: "pooled",
      logger: () => {},
      permissions: { unsafeFfi: true },
      stopGraceMs: 500,
    },
    size,
    restart: { initialDelayMs: 20, jitter: 0 },
    healthIntervalMs: 0,
  });
}

/** Whether a promise is still pending after the pool had a chance to act. */
async function pending(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol();
  await new Promise((r) => setTimeout(r, 50));
  return await Promise.race([promise, Promise.resolve(marker)]) === marker;
}

Deno.test("PluginPool.lease(): least busy, and alone reserves a process that takes no new work until it drains", async () => {
  await using p = await pool(2);
  const a = await p.lease();
  const b = await p.lease();
  assert.notEqual(a.slot, b.slot, "the least busy");
  const c = await p.lease();
  // alone: reserves the least busy process at once, and waits for it to drain
  const alone = p.lease({ alone: true });
  assert.ok(await pending(alone));
  const reserved = p.keepers.find((k) => k.reserved)!;
  assert.equal(reserved.slot, b.slot, "the least busy");
  // a fresh lease goes to the other process, never to the reserved one
  const d = await p.lease();
  assert.equal(d.slot, a.slot);
  // a second alone lease reserves the other process: fresh leases now wait for both
  const second = p.lease({ alone: true });
  assert.ok(await pending(second));
  assert.ok(p.keepers.every((k) => k.reserved));
  const fresh = p.lease();
  assert.ok(await pending(fresh));
  b.release();
  const first = await alone;
  assert.equal(first.slot, b.slot);
  for (const l of [a, b, c, d]) l.release(); // idempotent for b
  const next = await second;
  assert.equal(next.slot, a.slot);
  assert.ok(await pending(fresh), "fresh leases wait while alone ones run");
  first.release();
  const after = await fresh;
  assert.equal(after.slot, b.slot);
  next.release();
  after.release();
  assert.equal(p.inFlight, 0);
});

Deno.test("PluginPool.lease() gives up at its deadline and when the pool stops", async () => {
  const p = await pool(1);
  const held = await p.lease({ alone: true });
  const late = await p.lease({ deadline: Date.now() + 200 }).catch((e) => e);
  assert.ok(late instanceof ConnectError && late.code === Code.DeadlineExceeded, String(late));
  const waiting = p.lease();
  held.release();
  (await waiting).release();
  const blocked = await p.lease({ alone: true });
  const stopped = p.lease().catch((e) => e);
  await p.stop();
  blocked.release();
  const error = await stopped;
  assert.ok(error instanceof PluginError && /it was stopped/.test(error.message), String(error));
});

Deno.test("PluginPool: a crash during a leased call is learnt from the lease", async () => {
  await using p = await pool(1);
  const lease: Lease = await p.lease();
  const error = await createClient(FixtureService, lease.plugin.transport)
    .act({ action: "segfault" }).catch((e) => e);
  lease.answered(true);
  const crash = await lease.crashOf(error);
  lease.release();
  assert.ok(crash instanceof PluginCrashedError, String(error));
  assert.match(crash.reason, /signal SIGSEGV/);
  assert.equal(lease.current, false);
  const next = await p.lease({ deadline: Date.now() + 30_000 });
  assert.notEqual(next.generation, lease.generation);
  assert.equal(next.current, true);
  next.release();
  assert.equal(p.exits, 1);
  assert.equal(p.restarts, 1);
});

Deno.test("PluginPool.retire(): a keeper that does not drain is cut off; a RETRYABLE call goes to its replacement", async () => {
  await using p = await pool(1);
  const fixture = createClient(FixtureService, guardedTransport(p, { callTimeoutMs: 60_000 }));
  const old = p.keepers[0]!;
  const oldPid = old.state.t === "ready" ? old.state.plugin.pid : 0;
  const retryable = { contextValues: createContextValues().set(RETRYABLE, true) };
  const fresh = p.keeper(old.pluginOptions, false, old.slot);
  await fresh.start();
  // in flight on the old process for 3 s, far past the drain timeout
  const call = fixture.act({ action: "sleep:3000" }, retryable);
  while (old.inFlight === 0) await new Promise((r) => setTimeout(r, 10));
  p.add(fresh);
  const drained = await p.retire(old, { signal: AbortSignal.timeout(100), reason: "upgraded" });
  assert.equal(drained, false);
  assert.equal((await call).result, "slept");
  assert.equal(old.state.t, "stopped");
  assert.deepEqual(p.keepers, [fresh]);
  const pid = (await fixture.echo({ text: "x" })).pid;
  assert.notEqual(Number(pid), oldPid);
});
