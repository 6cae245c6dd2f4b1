import assert from "node:assert/strict";
import {
  PluginCrashedError,
  RETRYABLE,
  Supervisor,
  type SupervisorEvent,
  UpgradeFailedError,
} from "../../mod.ts";
import { createContextValues } from "../../src/npm/connect.ts";
import { GreeterService } from "../../src/gen/bulkhead/examples/greeter/v1/greeter_pb.ts";
import { isAlive, waitFor } from "../_helpers.ts";

const FIXTURES = new URL("../fixtures/upgrade/", import.meta.url);
const V1 = new URL("greeter_v1.ts", FIXTURES);
const V2 = new URL("greeter_v2.ts", FIXTURES);
const V2_CRASH_ON_START = new URL("greeter_v2_crash_on_start.ts", FIXTURES);
const V2_CRASH_ON_CALL = new URL("greeter_v2_crash_on_call.ts", FIXTURES);
/** Each answer is held this long, so calls are in flight when the upgrade switches. */
const HOLD_MS = "20";
const PER_PROCESS = 16;
const SIZE = 2;

/** A pool of the greeter v1, and callers that keep `PER_PROCESS` calls in flight per process. */
async function greeterUnderLoad(options: { retryable: boolean }) {
  const events: SupervisorEvent[] = [];
  const supervisor = await Supervisor.start({
    plugin: { module: V1, args: [HOLD_MS], logger: () => {}, stopGraceMs: 2000 },
    size: SIZE,
    healthIntervalMs: 0,
    callTimeoutMs: 120_000, // a safety net: verdicts count events, not time
    onEvent: (event) => events.push(event),
  });
  const greeter = supervisor.client(GreeterService);
  const callOptions = options.retryable
    ? { contextValues: createContextValues().set(RETRYABLE, true) }
    : {};
  const answers = new Map<string, number>();
  const failures: unknown[] = [];
  let stopping = false;
  const callers = Array.from({ length: SIZE * PER_PROCESS }, async (_, w) => {
    for (let i = 0; !stopping; i++) {
      try {
        const { greeting } = await greeter.greet({ name: `${w}.${i}` }, callOptions);
        const version = greeting.slice(0, greeting.indexOf(":"));
        assert.equal(greeting, `${version}: hello ${w}.${i}`);
        answers.set(version, (answers.get(version) ?? 0) + 1);
      } catch (error) {
        failures.push(error);
      }
    }
  });
  return {
    supervisor,
    events,
    answers,
    failures,
    /** Stops the callers (each ends after its call in flight) and the pool. */
    async stop() {
      stopping = true;
      await Promise.all(callers);
      await supervisor.stop();
    },
  };
}

/** Waits until every process of the pool has `PER_PROCESS` calls in flight. */
async function fullyLoaded(supervisor: Supervisor): Promise<void> {
  const loaded = await waitFor(
    () => supervisor.stats().every((s) => s.inFlight >= PER_PROCESS),
    120_000,
  );
  assert.ok(loaded, `calls in flight: ${supervisor.stats().map((s) => s.inFlight)}`);
}

Deno.test("Supervisor.upgrade() swaps a pool of 2 for a new version under 16 calls in flight per process: no call fails", async () => {
  const load = await greeterUnderLoad({ retryable: false });
  try {
    const { supervisor, events } = load;
    await fullyLoaded(supervisor);
    const oldPids = supervisor.stats().map((s) => s.pid!);
    const inFlight = supervisor.stats().reduce((n, s) => n + s.inFlight, 0);
    const result = await supervisor.upgrade({
      plugin: { module: V2, args: [HOLD_MS], logger: () => {}, stopGraceMs: 2000 },
      probationMs: 500,
    });
    // the old processes are gone, and every one of them was stopped by the upgrade
    assert.deepEqual(result.oldPids.sort(), oldPids.sort());
    for (const pid of oldPids) assert.equal(isAlive(pid), false, `old process ${pid} lives`);
    assert.equal(result.newPids.length, SIZE);
    assert.deepEqual(supervisor.stats().map((s) => s.pid).sort(), result.newPids.sort());
    // the calls in flight at the switch finished on the old version, none was cut
    assert.equal(result.cut, 0);
    const switched = events.find((e) => e.type === "upgrade-switched");
    assert.ok(switched?.type === "upgrade-switched");
    assert.equal(result.drained, switched.draining);
    assert.ok(switched.draining > 0, "no call was in flight at the switch");
    // the new version answers
    assert.ok(
      await waitFor(() => (load.answers.get("v2") ?? 0) >= 2 * SIZE * PER_PROCESS, 120_000),
    );
    assert.deepEqual(
      events.filter((e) => e.type.startsWith("upgrade-")).map((e) => e.type),
      ["upgrade-started", "upgrade-switched", "upgrade-completed"],
    );
    console.log(
      `hot upgrade figures: ${inFlight} calls in flight (${PER_PROCESS} per process × ${SIZE}); ` +
        `${switched.draining} in flight at the switch; time to switch ${
          result.switchMs.toFixed(0)
        } ms (new version started and healthy); time to drain ${result.drainMs.toFixed(1)} ms`,
    );
  } finally {
    await load.stop();
  }
  assert.deepEqual(load.failures, []);
  assert.ok((load.answers.get("v1") ?? 0) > 0);
});

Deno.test("Supervisor.upgrade() rolls back a version that crashes on start: the old one serves on", async () => {
  const load = await greeterUnderLoad({ retryable: false });
  try {
    const { supervisor, events } = load;
    await fullyLoaded(supervisor);
    const oldPids = supervisor.stats().map((s) => s.pid!);
    const error = await supervisor.upgrade({
      plugin: { module: V2_CRASH_ON_START, logger: () => {} },
    }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof UpgradeFailedError, String(error));
    assert.equal(error.phase, "start");
    assert.equal(error.plugin, supervisor.name);
    assert.match(error.message, /greeter_v2_crash_on_start\.ts/);
    assert.match(error.message, /exit code 3|cannot read its configuration/);
    assert.match(error.message, /rolled back/);
    assert.deepEqual(supervisor.stats().map((s) => s.pid).sort(), oldPids.sort());
    for (const pid of oldPids) assert.ok(isAlive(pid));
    const before = load.answers.get("v1") ?? 0;
    assert.ok(
      await waitFor(() => (load.answers.get("v1") ?? 0) > before + SIZE * PER_PROCESS, 120_000),
    );
    assert.deepEqual(
      events.filter((e) => e.type.startsWith("upgrade-")).map((e) => e.type),
      ["upgrade-started", "upgrade-rolled-back"],
    );
  } finally {
    await load.stop();
  }
  assert.deepEqual(load.failures, []);
  assert.equal(load.answers.get("v2"), undefined);
});

Deno.test("Supervisor.upgrade() rolls back a version that crashes within its probation: retryable calls all succeed", async () => {
  const load = await greeterUnderLoad({ retryable: true });
  try {
    const { supervisor, events } = load;
    await fullyLoaded(supervisor);
    const oldPids = supervisor.stats().map((s) => s.pid!);
    const error = await supervisor.upgrade({
      plugin: { module: V2_CRASH_ON_CALL, args: [HOLD_MS], logger: () => {} },
      probationMs: 120_000, // ends at the crash; a safety net otherwise
    }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof UpgradeFailedError, String(error));
    assert.equal(error.phase, "probation");
    assert.match(error.message, /exit code 70|lost its state/);
    // the old processes took the calls back and still serve
    assert.deepEqual(supervisor.stats().map((s) => s.pid).sort(), oldPids.sort());
    for (const pid of oldPids) assert.ok(isAlive(pid));
    const before = load.answers.get("v1") ?? 0;
    assert.ok(
      await waitFor(() => (load.answers.get("v1") ?? 0) > before + SIZE * PER_PROCESS, 120_000),
    );
    const kinds = events.filter((e) => e.type.startsWith("upgrade-")).map((e) => e.type);
    assert.deepEqual(kinds, ["upgrade-started", "upgrade-switched", "upgrade-rolled-back"]);
  } finally {
    await load.stop();
  }
  // the calls on the crashed version were resent to the old one
  assert.deepEqual(load.failures, []);
});

Deno.test("Supervisor.upgrade() cuts calls still on the old version at the drain timeout: a RETRYABLE one is resent to the new version, another fails saying why", async () => {
  const events: SupervisorEvent[] = [];
  // the old version holds every answer a minute: nothing drains before the timeout
  await using supervisor = await Supervisor.start({
    plugin: { module: V1, args: ["60000"], logger: () => {} },
    size: SIZE,
    healthIntervalMs: 0,
    callTimeoutMs: 120_000,
    onEvent: (event) => events.push(event),
  });
  const greeter = supervisor.client(GreeterService);
  const retryable = { contextValues: createContextValues().set(RETRYABLE, true) };
  const calls = [
    ...["r1", "r2"].map((name) => greeter.greet({ name }, retryable)),
    ...["p1", "p2"].map((name) => greeter.greet({ name })),
  ].map((call) => call.then((r) => r.greeting, (error: unknown) => error));
  assert.ok(
    await waitFor(() => supervisor.stats().reduce((n, s) => n + s.inFlight, 0) === 4, 60_000),
  );
  const result = await supervisor.upgrade({
    plugin: { module: V2, args: ["0"], logger: () => {} },
    drainTimeoutMs: 200,
    probationMs: 200,
  });
  assert.equal(result.cut, 4);
  assert.equal(result.drained, 0);
  const [r1, r2, p1, p2] = await Promise.all(calls);
  assert.equal(r1, "v2: hello r1");
  assert.equal(r2, "v2: hello r2");
  for (const error of [p1, p2]) {
    assert.ok(error instanceof PluginCrashedError, String(error));
    assert.match(error.reason, /drain timeout/);
    assert.match(error.message, /greeter_v2\.ts/);
  }
  for (const pid of result.oldPids) assert.equal(isAlive(pid), false);
});

Deno.test("Supervisor.upgrade() aborted by its signal while the new version starts is rolled back; a stopped supervisor is not upgraded", async () => {
  const events: SupervisorEvent[] = [];
  const supervisor = await Supervisor.start({
    plugin: { module: V1, logger: () => {} },
    healthIntervalMs: 0,
    onEvent: (event) => events.push(event),
  });
  try {
    const greeter = supervisor.client(GreeterService);
    const controller = new AbortController();
    const upgrading = supervisor.upgrade({
      plugin: { module: V2, logger: () => {} },
      signal: controller.signal,
    }).then(() => undefined, (e: unknown) => e);
    assert.ok(await waitFor(() => events.some((e) => e.type === "upgrade-started"), 60_000));
    controller.abort(new Error("the operator changed their mind"));
    const error = await upgrading;
    assert.ok(error instanceof UpgradeFailedError, String(error));
    assert.equal(error.phase, "aborted");
    assert.match(error.reason, /changed their mind/);
    assert.equal((await greeter.greet({ name: "a" })).greeting, "v1: hello a");
  } finally {
    await supervisor.stop();
  }
  await assert.rejects(
    supervisor.upgrade({ plugin: { module: V2, logger: () => {} } }),
    /Cannot upgrade plugin "greeter_v1": it is stopped/,
  );
});
