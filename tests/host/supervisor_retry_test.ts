import assert from "node:assert/strict";
import { PluginCrashedError, RETRYABLE, Supervisor, type SupervisorEvent } from "../../mod.ts";
import { createContextValues } from "../../src/npm/connect.ts";
import { FixtureService } from "../../src/gen/bulkhead/testing/v1/fixture_pb.ts";
import { FIXTURE } from "../_helpers.ts";

/**
 * `workers` callers each make `calls` retryable calls, one after another, to
 * a plugin that crashes on every 3rd call each of its processes receives.
 */
async function hammer(workers: number, calls: number) {
  const events: SupervisorEvent[] = [];
  const supervisor = await Supervisor.start({
    plugin: {
      module: FIXTURE,
      args: ["crash-every:3"],
      name: "crash-every-3",
      logger: () => {},
      permissions: { unsafeFfi: true },
      stopGraceMs: 500,
    },
    restart: { initialDelayMs: 10, maxDelayMs: 50, jitter: 0, maxCrashes: 10_000 },
    callTimeoutMs: 120_000, // a safety net: the verdicts count events, not time
    healthIntervalMs: 0,
    onEvent: (e) => events.push(e),
  });
  const outcomes = { ok: 0, crashed: 0, other: [] as unknown[] };
  try {
    const fixture = supervisor.client(FixtureService);
    const retryable = { contextValues: createContextValues().set(RETRYABLE, true) };
    await Promise.all(Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; i < calls; i++) {
        try {
          const reply = await fixture.echo({ text: `${w}.${i}` }, retryable);
          assert.equal(reply.text, `${w}.${i}`);
          outcomes.ok++;
        } catch (error) {
          if (error instanceof PluginCrashedError) outcomes.crashed++;
          else outcomes.other.push(error);
        }
      }
    }));
  } finally {
    await supervisor.stop();
  }
  const crashes = events.filter((e) => e.type === "crashed").length;
  return { ...outcomes, calls: workers * calls, crashes };
}

Deno.test("retryable calls outlive a plugin that crashes on every 3rd call", async (t) => {
  await t.step(
    "one caller: every call succeeds (the crashed call, resent, is a new process's first)",
    async () => {
      const result = await hammer(1, 12);
      assert.deepEqual(result.other, []);
      assert.equal(result.ok, 12, JSON.stringify(result));
      assert.ok(result.crashes >= 4, JSON.stringify(result));
    },
  );
  await t.step(
    "16 callers: at least half succeed (resends go alone, then the limit grows)",
    async () => {
      const result = await hammer(16, 2);
      console.log(`16 callers: ${JSON.stringify({ ...result, other: result.other.length })}`);
      assert.deepEqual(result.other, [], "every failure is a crash, after one resend");
      assert.equal(result.ok + result.crashed, result.calls);
      assert.ok(result.ok * 2 >= result.calls, JSON.stringify(result));
    },
  );
});
