import assert from "node:assert/strict";
import {
  PluginCrashedError,
  PluginExitedError,
  PluginFailedError,
  Supervisor,
  type SupervisorEvent,
} from "../../mod.ts";
import { FixtureService } from "../../src/gen/bulkhead/testing/v1/fixture_pb.ts";
import { FIXTURE, waitFor } from "../_helpers.ts";

/** A pool of the fixture plugin whose budget one crash spends; `args[0]` is the next start's mode. */
function supervise(args: string[], signal?: AbortSignal) {
  const events: SupervisorEvent[] = [];
  const started = Supervisor.start({
    plugin: {
      module: FIXTURE,
      args,
      name: "resettable",
      logger: () => {},
      permissions: { unsafeFfi: true },
      stopGraceMs: 500,
      ...(signal ? { signal } : {}),
    },
    size: 2,
    restart: { initialDelayMs: 20, jitter: 0, maxCrashes: 0 },
    healthIntervalMs: 0,
    onEvent: (e) => events.push(e),
  });
  return started.then((supervisor) => ({ supervisor, events }));
}

async function crashToFailed(supervisor: Supervisor): Promise<void> {
  const error = await supervisor.client(FixtureService).act({ action: "exit:9" }).catch((e) => e);
  assert.ok(error instanceof PluginCrashedError, String(error));
  await waitFor(() => supervisor.state === "failed", 10_000);
  assert.equal(supervisor.state, "failed");
}

Deno.test("reset() starts the plugin again after the start's signal fired (it bound the first start only)", async () => {
  const start = new AbortController();
  const { supervisor } = await supervise(["ok"], start.signal);
  try {
    start.abort(new DOMException("the start's deadline passed", "TimeoutError"));
    assert.equal((await supervisor.client(FixtureService).echo({ text: "up" })).text, "up");
    await crashToFailed(supervisor);
    await supervisor.reset();
    assert.equal(supervisor.state, "running");
    assert.ok(supervisor.stats().every((s) => s.state === "ready" && s.pid !== undefined));
    assert.equal((await supervisor.client(FixtureService).echo({ text: "back" })).text, "back");
  } finally {
    await supervisor.stop();
  }
});

Deno.test("a reset whose relaunch fails leaves the supervisor failed, with the reason; reset() may be tried again", async () => {
  const args = ["ok"];
  const { supervisor, events } = await supervise(args);
  try {
    await crashToFailed(supervisor);
    args[0] = "exit-early"; // the relaunch fails: the plugin exits before its handshake
    const error = await supervisor.reset().catch((e) => e);
    assert.ok(error instanceof PluginExitedError, String(error));
    assert.equal(supervisor.state, "failed");
    assert.ok(supervisor.stats().every((s) => s.state === "failed" && s.pid === undefined));
    const call = await supervisor.client(FixtureService).echo({}).catch((e) => e);
    assert.ok(call instanceof PluginFailedError, String(call));
    assert.match(call.reason, /reset failed: .*exit code 3/);
    assert.deepEqual(events.filter((e) => e.type === "failed").length, 2);

    args[0] = "ok";
    await supervisor.reset();
    assert.equal(supervisor.state, "running");
    assert.equal((await supervisor.client(FixtureService).echo({ text: "back" })).text, "back");
    assert.equal(supervisor.stats().filter((s) => s.state === "ready").length, 2);
  } finally {
    await supervisor.stop();
  }
});
