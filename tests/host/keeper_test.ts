import assert from "node:assert/strict";
import { Code, ConnectError } from "../../src/npm/connect.ts";
import { FixtureService } from "../../src/gen/bulkhead/testing/v1/fixture_pb.ts";
import { PluginCrashedError, PluginExitedError } from "../../src/host/errors.ts";
import { Keeper } from "../../src/host/keeper.ts";
import { CrashBudget, type RestartPolicy } from "../../src/host/restart_policy.ts";
import type { SupervisorEvent } from "../../src/host/supervisor_options.ts";
import { FIXTURE, isAlive, waitFor } from "../_helpers.ts";

/**
 * A keeper of the fixture plugin. `args` stays the test's: changing
 * `args[0]` changes the mode of the next (re)start.
 */
function keep(args: string[], restart: RestartPolicy = {}, startTimeoutMs = 20_000) {
  const states: string[] = [];
  const events: SupervisorEvent[] = [];
  const spent: string[] = [];
  const keeper: Keeper = new Keeper({
    plugin: {
      module: FIXTURE,
      args,
      logger: () => {},
      permissions: { unsafeFfi: true },
      stopGraceMs: 500,
      startTimeoutMs,
    },
    name: "kept",
    slot: 0,
    budget: new CrashBudget({ initialDelayMs: 20, maxDelayMs: 200, jitter: 0, ...restart }),
    healthIntervalMs: 0,
    maxMissedDeadlines: 2,
    emit: (event) => events.push(event),
    onChange: () => states.push(keeper.state.t),
    onBudgetSpent: (reason) => {
      spent.push(reason);
      keeper.fail(reason);
    },
  });
  return { keeper, states, events, spent };
}

function readyPlugin(keeper: Keeper) {
  const state = keeper.state;
  assert.equal(state.t, "ready");
  return state.t === "ready" ? state : assert.fail();
}

Deno.test("Keeper: a crash goes ready → restarting → starting → ready, with a new generation", async () => {
  const { keeper, states, events } = keep(["ok"]);
  try {
    await keeper.start();
    const first = readyPlugin(keeper);
    assert.equal(first.generation, 1);
    await first.plugin.client(FixtureService).act({ action: "segfault" }).catch(() => {});
    assert.ok(await waitFor(() => keeper.serves(2), 20_000), `states: ${states}`);
    assert.deepEqual(states, ["starting", "ready", "restarting", "starting", "ready"]);
    assert.deepEqual(events.map((e) => e.type), ["started", "crashed", "restarting", "started"]);
    assert.equal(keeper.restarts, 1);
    assert.match(keeper.lastExit!.reason, /signal SIGSEGV/);
    assert.equal(isAlive(first.plugin.pid), false);
    assert.equal(keeper.serves(1), false, "the crashed generation is served no more");
  } finally {
    await keeper.stop();
  }
  assert.equal(keeper.state.t, "stopped");
});

Deno.test("Keeper: a first start that fails is failed{reason}", async (t) => {
  await t.step("exit-early", async () => {
    const { keeper, states } = keep(["exit-early"]);
    const error = await keeper.start().catch((e) => e);
    assert.ok(error instanceof PluginExitedError, String(error));
    const state = keeper.state;
    assert.ok(state.t === "failed" && /exit code 3/.test(state.reason), JSON.stringify(state));
    assert.deepEqual(states, ["starting", "failed"]);
    await keeper.stop();
  });
  await t.step("never-ready (start timeout)", async () => {
    const { keeper } = keep(["never-ready"], {}, 1500);
    const error = await keeper.start().catch((e) => e);
    assert.ok(error instanceof Error);
    assert.equal(keeper.state.t, "failed");
    await keeper.stop();
  });
});

Deno.test("Keeper: a relaunch that fails counts against the budget; once spent, failed; start() revives", async () => {
  const args = ["ok"];
  const { keeper, states, events, spent } = keep(args, { maxCrashes: 2 });
  try {
    await keeper.start();
    args[0] = "exit-early"; // every relaunch now fails
    await readyPlugin(keeper).plugin.client(FixtureService).act({ action: "exit:9" })
      .catch(() => {});
    assert.ok(await waitFor(() => keeper.state.t === "failed", 30_000), `states: ${states}`);
    assert.equal(spent.length, 1);
    assert.match(spent[0]!, /3 crashes within 60 s; last: .*exit code 3/);
    assert.deepEqual(
      events.map((e) => e.type),
      ["started", "crashed", "restarting", "restart-failed", "restarting", "restart-failed"],
    );
    assert.deepEqual(states, [
      "starting",
      "ready",
      "restarting",
      "starting",
      "restarting",
      "starting",
      "failed",
    ]);
    args[0] = "ok";
    await keeper.start();
    assert.equal(readyPlugin(keeper).generation, 2);
  } finally {
    await keeper.stop();
  }
});

Deno.test("Keeper: stop() cancels a pending restart and aborts a start", async (t) => {
  await t.step("restarting: the timer is cleared, nothing starts again", async () => {
    const { keeper, events } = keep(["ok"], { initialDelayMs: 60_000 });
    await keeper.start();
    await readyPlugin(keeper).plugin.client(FixtureService).act({ action: "exit:1" })
      .catch(() => {});
    assert.ok(await waitFor(() => keeper.state.t === "restarting", 10_000));
    await keeper.stop();
    assert.equal(keeper.state.t, "stopped");
    assert.equal(events.filter((e) => e.type === "started").length, 1);
  });
  await t.step("starting: the launch is aborted", async () => {
    const { keeper } = keep(["never-ready"], {}, 60_000);
    const starting = keeper.start().catch((e) => e);
    await keeper.stop();
    assert.ok(await starting instanceof Error);
    assert.equal(keeper.state.t, "stopped");
  });
});

Deno.test("Keeper: missed deadlines kill a hung process; the crash names why", async () => {
  const { keeper, events } = keep(["ok"]);
  try {
    await keeper.start();
    const { plugin } = readyPlugin(keeper);
    const fixture = plugin.client(FixtureService);
    let last: unknown;
    for (let i = 0; i < 2; i++) {
      last = await fixture.act({ action: "sleep-hang" }, { timeoutMs: 300 }).catch((e) => e);
      assert.ok(last instanceof ConnectError && last.code === Code.DeadlineExceeded, String(last));
      keeper.missedDeadline(plugin);
    }
    const crash = await keeper.crashOf(plugin, last);
    assert.ok(crash instanceof PluginCrashedError);
    assert.match(crash.reason, /missed 2 call deadlines in a row \(hung\)/);
    assert.ok(events.some((e) => e.type === "killed"));
    assert.ok(await waitFor(() => keeper.serves(2), 20_000));
  } finally {
    await keeper.stop();
  }
});

Deno.test("Keeper: stop(reason) cuts off a call in flight with that reason", async () => {
  const { keeper } = keep(["ok"]);
  await keeper.start();
  const { plugin } = readyPlugin(keeper);
  const call = plugin.client(FixtureService).act({ action: "sleep-hang" }, { timeoutMs: 60_000 })
    .catch((e) => e);
  await keeper.stop("retired by the test");
  const error = await call;
  const crash = await keeper.crashOf(plugin, error);
  assert.ok(crash instanceof PluginCrashedError, String(error));
  assert.equal(crash.reason, "retired by the test");
  assert.equal(keeper.state.t, "stopped");
});
