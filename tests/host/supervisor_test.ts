import assert from "node:assert/strict";
import {
  PluginCrashedError,
  PluginFailedError,
  type PluginOptions,
  RETRYABLE,
  Supervisor,
  type SupervisorEvent,
  type SupervisorOptions,
} from "../../mod.ts";
import { Code, ConnectError, createContextValues } from "../../src/npm/connect.ts";
import { FixtureService } from "../../src/gen/bulkhead/testing/v1/fixture_pb.ts";
import {
  Health,
  HealthCheckResponse_ServingStatus,
} from "../../src/gen/grpc/health/v1/health_pb.ts";
import { FIXTURE, isAlive, waitFor } from "../_helpers.ts";

function supervise(
  mode: string,
  extra: Partial<SupervisorOptions> = {},
  plugin: Partial<PluginOptions> = {},
) {
  const events: SupervisorEvent[] = [];
  const started = Supervisor.start({
    plugin: {
      module: FIXTURE,
      args: [mode],
      name: `fixture-${mode}`,
      logger: () => {},
      permissions: { unsafeFfi: true },
      stopGraceMs: 500,
      ...plugin,
    },
    restart: { initialDelayMs: 20, maxDelayMs: 200, jitter: 0 },
    healthIntervalMs: 0,
    onEvent: (e) => events.push(e),
    ...extra,
  });
  return started.then((supervisor) => ({ supervisor, events }));
}

async function nextPid(supervisor: Supervisor, than: number): Promise<number> {
  await waitFor(() => {
    const pid = supervisor.stats()[0]?.pid;
    return pid !== undefined && pid !== than && supervisor.stats()[0]?.state === "ready";
  }, 10_000);
  return supervisor.stats()[0]!.pid!;
}

Deno.test("Supervisor contains every crash mode, restarts the plugin, and the next call succeeds", async (t) => {
  const matrix: [action: string, expect: RegExp, plugin?: Partial<PluginOptions>][] = [
    ["segfault", /signal SIGSEGV/],
    ["abort", /signal SIGABRT/],
    ["throw", /exit code 1/],
    ["reject", /exit code 1/],
    ["exit:3", /exit code 3/],
    ["oom", /exceeded its 64 MiB heap/, { limits: { heapMb: 64 } }],
  ];
  for (const [action, expect, extra] of matrix) {
    await t.step(action, async () => {
      const { supervisor, events } = await supervise("ok", {}, extra);
      try {
        const fixture = supervisor.client(FixtureService);
        const firstPid = supervisor.stats()[0]!.pid!;
        const error = await fixture.act({ action }, { timeoutMs: 20_000 }).catch((e) => e);
        assert.ok(error instanceof PluginCrashedError, `got ${error}`);
        assert.equal(error.plugin, `fixture-ok`);
        assert.match(error.reason, expect);
        assert.match(error.message, /crashed during the call/);
        assert.ok(error.cause instanceof ConnectError);
        const pid = await nextPid(supervisor, firstPid);
        assert.notEqual(pid, firstPid);
        assert.equal(isAlive(firstPid), false);
        const reply = await fixture.echo({ text: "again" });
        assert.equal(reply.text, "again");
        assert.equal(Number(reply.pid), pid);
        const [stats] = supervisor.stats();
        assert.equal(stats!.restarts, 1);
        assert.match(stats!.lastExit!.reason, expect);
        assert.deepEqual(
          events.map((e) => e.type),
          ["started", "crashed", "restarting", "started"],
        );
      } finally {
        await supervisor.stop();
      }
    });
  }
});

Deno.test("Supervisor kills and restarts a plugin that hangs inside calls", async (t) => {
  for (const action of ["busy-hang", "sleep-hang"]) {
    await t.step(action, async () => {
      const { supervisor, events } = await supervise("ok", { maxMissedDeadlines: 2 });
      try {
        const fixture = supervisor.client(FixtureService);
        const firstPid = supervisor.stats()[0]!.pid!;
        for (let i = 0; i < 2; i++) {
          const error = await fixture.act({ action }, { timeoutMs: 300 }).catch((e) => e);
          assert.ok(error instanceof ConnectError, String(error));
          assert.equal(error.code, Code.DeadlineExceeded);
          if (action === "busy-hang") break; // the event loop is stuck: later calls also time out
        }
        if (action === "busy-hang") {
          const again = await fixture.echo({}, { timeoutMs: 300 }).catch((e) => e);
          assert.ok(again instanceof ConnectError);
        }
        await nextPid(supervisor, firstPid);
        assert.equal((await fixture.echo({ text: "back" })).text, "back");
        const killed = events.find((e) => e.type === "killed");
        assert.ok(killed && killed.type === "killed");
        assert.match(killed.reason, /missed 2 call deadlines in a row/);
        assert.equal(isAlive(firstPid), false);
      } finally {
        await supervisor.stop();
      }
    });
  }
});

Deno.test("Supervisor kills a plugin that fails its health checks", async () => {
  const { supervisor, events } = await supervise("ok", { healthIntervalMs: 200 });
  try {
    const fixture = supervisor.client(FixtureService);
    const firstPid = supervisor.stats()[0]!.pid!;
    void fixture.act({ action: "busy-hang" }, { timeoutMs: 100 }).catch(() => {});
    await nextPid(supervisor, firstPid);
    const killed = events.find((e) => e.type === "killed");
    assert.ok(killed?.type === "killed" && /health check/.test(killed.reason));
    assert.equal((await fixture.echo({ text: "healthy" })).text, "healthy");
  } finally {
    await supervisor.stop();
  }
});

Deno.test("a retryable call is sent once more to the restarted plugin", async () => {
  const { supervisor } = await supervise("crash-every:2");
  try {
    const fixture = supervisor.client(FixtureService);
    const retryable = { contextValues: createContextValues().set(RETRYABLE, true) };
    const first = await fixture.echo({ text: "1" }, retryable);
    const second = await fixture.echo({ text: "2" }, retryable); // crashes the plugin, retried
    assert.equal(second.text, "2");
    assert.notEqual(second.pid, first.pid);
    const third = await fixture.echo({ text: "3" }).catch((e) => e); // 2nd call of the new process
    assert.ok(third instanceof PluginCrashedError);
    assert.equal(third.status.signal, "SIGSEGV");
  } finally {
    await supervisor.stop();
  }
});

Deno.test("past its crash budget a plugin is failed, calls fail fast, reset() revives it", async () => {
  const { supervisor, events } = await supervise("ok", {
    restart: { initialDelayMs: 10, jitter: 0, maxCrashes: 2, windowMs: 60_000 },
  });
  try {
    const fixture = supervisor.client(FixtureService);
    for (let crash = 1; crash <= 3; crash++) {
      const error = await fixture.act({ action: "exit:9" }).catch((e) => e);
      assert.ok(error instanceof PluginCrashedError, `crash ${crash}: ${error}`);
    }
    await waitFor(() => supervisor.state === "failed", 5000);
    assert.equal(supervisor.state, "failed");
    const started = performance.now();
    const error = await fixture.echo({}).catch((e) => e);
    assert.ok(error instanceof PluginFailedError);
    assert.match(error.reason, /3 crashes within 60 s; last: exit code 9/);
    assert.ok(performance.now() - started < 1000, "fails fast");
    assert.ok(events.some((e) => e.type === "failed"));
    assert.equal(supervisor.stats()[0]!.pid, undefined);

    await supervisor.reset();
    assert.equal(supervisor.state, "running");
    assert.equal((await fixture.echo({ text: "revived" })).text, "revived");
  } finally {
    await supervisor.stop();
  }
});

Deno.test("a pool spreads calls and keeps serving while one process restarts", async () => {
  const { supervisor } = await supervise("ok", { size: 3 });
  try {
    const fixture = supervisor.client(FixtureService);
    const pids = new Set<bigint>();
    await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        pids.add((await fixture.echo({ text: String(i) })).pid);
      }),
    );
    assert.equal(pids.size, 3, "every process served calls");
    assert.deepEqual(supervisor.stats().map((s) => s.name), [
      "fixture-ok#0",
      "fixture-ok#1",
      "fixture-ok#2",
    ]);
    await fixture.act({ action: "exit:1" }).catch(() => {});
    for (let i = 0; i < 10; i++) await fixture.echo({ text: "still" });
    await waitFor(() => supervisor.stats().every((s) => s.state === "ready"), 5000);
    const stats = supervisor.stats();
    assert.equal(stats.reduce((n, s) => n + s.restarts, 0), 1);
    assert.ok(stats.reduce((n, s) => n + s.calls, 0) >= 41);
    for (const s of stats) {
      assert.ok(s.rssBytes! > 1024 * 1024, "RSS is read");
      assert.ok(s.p99Ms >= s.p50Ms);
    }
  } finally {
    await supervisor.stop();
  }
});

Deno.test("floods of stdout and stderr do not hurt the host", async (t) => {
  for (const mode of ["stdout-spam", "stderr-flood"]) {
    await t.step(mode, async () => {
      const lines: string[] = [];
      const { supervisor } = await supervise(mode, {}, {
        logger: (r) => lines.push(r.message),
      });
      try {
        const fixture = supervisor.client(FixtureService);
        for (let i = 0; i < 20; i++) await fixture.echo({ text: "ok" });
        if (mode === "stderr-flood") {
          await waitFor(() => lines.includes("flood done"), 10_000);
          assert.ok(lines.includes("flood done"));
          assert.ok(lines.every((l) => l.length <= 16 * 1024), "lines are bounded");
        } else {
          await waitFor(() => lines.length >= 50_000, 10_000);
          assert.ok(lines.length >= 50_000);
        }
      } finally {
        await supervisor.stop();
      }
    });
  }
});

Deno.test("a plugin's own children die with it", async () => {
  const { supervisor } = await supervise("ok", {}, {
    permissions: { unsafeRun: ["/bin/sleep"] },
  });
  let grandchild = 0;
  try {
    const fixture = supervisor.client(FixtureService);
    const result = (await fixture.act({ action: "fork-child" })).result;
    grandchild = Number(result.split(":")[1]);
    assert.ok(isAlive(grandchild));
  } finally {
    await supervisor.stop();
  }
  assert.ok(await waitFor(() => !isAlive(grandchild), 2000), "grandchild outlived its plugin");
});

Deno.test("a CPU time limit is a contained crash that names the limit", async () => {
  const { supervisor } = await supervise("ok", {}, { limits: { cpuSeconds: 1 } });
  try {
    const fixture = supervisor.client(FixtureService);
    const error = await fixture.act({ action: "busy-hang" }, { timeoutMs: 15_000 }).catch((e) => e);
    assert.ok(error instanceof PluginCrashedError, String(error));
    assert.match(error.reason, /CPU time limit of 1 s/);
  } finally {
    await supervisor.stop();
  }
});

Deno.test("a stream whose plugin dies mid-stream fails with PluginCrashedError; it counts as in flight until then", async () => {
  const { supervisor } = await supervise("ok");
  try {
    const watch = supervisor.client(Health).watch({ service: "plugin" })[Symbol.asyncIterator]();
    assert.equal((await watch.next()).value?.status, HealthCheckResponse_ServingStatus.SERVING);
    assert.equal(supervisor.stats()[0]!.inFlight, 1, "an open stream is in flight");
    const fixture = supervisor.client(FixtureService);
    await fixture.act({ action: "segfault" }).catch(() => {});
    const error = await watch.next().catch((e) => e);
    assert.ok(error instanceof PluginCrashedError, `got ${error}`);
    assert.match(error.reason, /signal SIGSEGV/);
    assert.equal(supervisor.stats()[0]!.inFlight, 0);
  } finally {
    await supervisor.stop();
  }
});
