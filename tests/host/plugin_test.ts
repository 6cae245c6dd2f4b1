import assert from "node:assert/strict";
import { HandshakeError, type Logger, Plugin, PluginExitedError } from "../../mod.ts";
import { Code, ConnectError } from "../../src/npm/connect.ts";
import { FixtureService } from "../../src/gen/bulkhead/testing/v1/fixture_pb.ts";
import { assertCleanedUp, exists, FIXTURE, isAlive, memoryLogger } from "../_helpers.ts";

function startFixture(mode: string, extra: Partial<Parameters<typeof Plugin.start>[0]> = {}) {
  return Plugin.start({
    module: FIXTURE,
    args: [mode],
    name: `fixture-${mode}`,
    logger: () => {},
    stopGraceMs: 1000,
    ...extra,
  });
}

Deno.test("Plugin.start() runs a plugin, calls it, and stop() cleans up", async () => {
  const { records, logger } = memoryLogger();
  const plugin = await startFixture("ok", { logger });
  const socketDir = plugin.handshake.address.replace(/\/[^/]+$/, "");
  assert.equal(plugin.state, "ready");
  assert.equal(plugin.handshake.coreVersion, 1);
  assert.equal(plugin.handshake.appVersion, 1);
  assert.equal(plugin.handshake.network, "unix");
  assert.equal(exists(plugin.handshake.address), true);
  assert.equal((await Deno.stat(socketDir)).mode! & 0o777, 0o700);

  const fixture = plugin.client(FixtureService);
  const reply = await fixture.echo({ text: "hi", payload: new Uint8Array([1, 2, 3]) });
  assert.equal(reply.text, "hi");
  assert.deepEqual([...reply.payload], [1, 2, 3]);
  assert.equal(Number(reply.pid), plugin.pid);
  assert.equal(await plugin.health(), "SERVING");

  assert.equal((await fixture.act({ action: "log:a line on stderr" })).result, "logged");
  assert.equal((await fixture.act({ action: "stdout:a line on stdout" })).result, "printed");

  const status = await plugin.stop();
  assert.deepEqual(status, { code: 0, signal: null });
  assert.equal(plugin.state, "exited");
  assertCleanedUp(plugin.pid, socketDir);
  assert.deepEqual(await plugin.stop(), status, "stop() is idempotent");
  assert.ok(records.some((r) => r.source === "stderr" && r.message === "a line on stderr"));
  assert.ok(records.some((r) => r.source === "stdout" && r.message === "a line on stdout"));
  assert.ok(records.every((r) => r.plugin === "fixture-ok"));
});

Deno.test("Plugin passes only the protocol's environment and what the caller names", async () => {
  Deno.env.set("BULKHEAD_TEST_SECRET", "s3cret");
  try {
    await using plugin = await startFixture("ok", {
      env: { GIVEN: "yes" },
      permissions: { env: ["BULKHEAD_TEST_SECRET"] },
    });
    const fixture = plugin.client(FixtureService);
    assert.equal((await fixture.act({ action: "env:GIVEN" })).result, "ok:yes");
    assert.equal((await fixture.act({ action: "env:BULKHEAD_TEST_SECRET" })).result, "ok:<unset>");
    assert.equal(
      (await fixture.act({ action: "env:BULKHEAD_PLUGIN" })).result.startsWith("ok:"),
      true,
    );
  } finally {
    Deno.env.delete("BULKHEAD_TEST_SECRET");
  }
});

Deno.test("Plugin.start() refuses bad handshakes with a HandshakeError", async (t) => {
  const cases: [
    mode: string,
    reason: string,
    extra?: Partial<Parameters<typeof Plugin.start>[0]> & { healthFailure?: boolean },
  ][] = [
    ["bad-handshake", "malformed"],
    ["wrong-core", "core-version"],
    ["wrong-app", "app-version"],
    ["tcp", "network"],
    ["tcp-remote", "address", { allowTcp: true }],
    ["netrpc", "protocol"],
    ["outside-dir", "address"],
    ["never-ready", "timeout", { startTimeoutMs: 1500 }],
    ["partial-handshake", "timeout", { startTimeoutMs: 1500 }],
    ["no-socket", "socket", { startTimeoutMs: 3000, healthFailure: true }],
  ];
  for (const [mode, expectedReason, { healthFailure, ...extra } = {}] of cases) {
    await t.step(mode, async () => {
      const parent = await Deno.makeTempDir({ prefix: "bulkhead-test-" });
      let dialed = false; // the host reported a failed health check: it had the handshake
      const logger: Logger = (record) => {
        if (record.source === "host" && /health check failed/.test(record.message)) dialed = true;
      };
      const error = await startFixture(mode, { ...extra, logger, socketParent: parent }).then(
        () => assert.fail("start should have failed"),
        (e: unknown) => e,
      );
      assert.ok(error instanceof HandshakeError, `got ${error}`);
      // a start so slow (a loaded machine) that the deadline came before the
      // handshake is a timeout: the verdict follows what the host saw, not the clock
      const reason = healthFailure && !dialed ? "timeout" : expectedReason;
      assert.equal(error.reason, reason);
      assert.equal(error.plugin, `fixture-${mode}`);
      assert.match(error.message, /^Cannot start plugin "fixture-/);
      if (!["timeout", "socket"].includes(reason)) {
        assert.ok(error.line !== undefined && error.message.includes(JSON.stringify(error.line)));
      }
      assert.deepEqual([...Deno.readDirSync(parent)], [], "socket directory left behind");
      await Deno.remove(parent);
    });
  }
});

Deno.test("Plugin.start() reports a plugin that exits before its handshake", async (t) => {
  await t.step("with an exit code and its last stderr lines", async () => {
    const error = await startFixture("exit-early").catch((e) => e);
    assert.ok(error instanceof PluginExitedError);
    assert.deepEqual(error.status, { code: 3, signal: null });
    assert.deepEqual(error.stderrTail.slice(-1), [
      "fatal: config file /etc/fixture.toml not found",
    ]);
    assert.match(error.message, /exited before its handshake with exit code 3/);
    assert.match(error.message, /config file \/etc\/fixture.toml not found/);
  });
  await t.step("killed by a signal", async () => {
    const error = await startFixture("segfault-early", { permissions: { unsafeFfi: true } })
      .catch((e) => e);
    assert.ok(error instanceof PluginExitedError);
    assert.equal(error.status.signal, "SIGSEGV");
    assert.match(error.message, /signal SIGSEGV/);
  });
  await t.step("by an uncaught exception", async () => {
    const error = await startFixture("throw-early").catch((e) => e);
    assert.ok(error instanceof PluginExitedError);
    assert.equal(error.status.code, 1);
    assert.ok(error.stderrTail.some((l: string) => l.includes("fixture failed to initialise")));
  });
  await t.step("because it is not a plugin at all", async () => {
    const error = await Plugin.start({ command: "/bin/true", name: "true", logger: () => {} })
      .catch((e) => e);
    assert.ok(error instanceof PluginExitedError);
    assert.equal(error.status.code, 0);
  });
  await t.step("because the command does not exist", async () => {
    const error = await Plugin.start({ command: "/nonexistent/kv-plugin", logger: () => {} })
      .catch((e) => e);
    assert.ok(error instanceof PluginExitedError);
    assert.equal(error.plugin, "kv-plugin");
    assert.match(error.message, /cannot run \/nonexistent\/kv-plugin/);
  });
});

Deno.test("Plugin refuses to run without the cookie, and with another app's cookie", async () => {
  const byHand = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", FIXTURE.href, "ok"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(byHand.code, 1);
  assert.equal(byHand.stdout.length, 0, "nothing on stdout");
  assert.match(new TextDecoder().decode(byHand.stderr), /meant to be started by its host/);

  const error = await startFixture("ok", { cookie: { key: "OTHER_APP", value: "x" } })
    .catch((e) => e);
  assert.ok(error instanceof PluginExitedError);
  assert.equal(error.status.code, 1);
  assert.ok(error.stderrTail.some((l: string) => l.includes("magic cookie")));
});

Deno.test("Plugin.start() honours an AbortSignal", async () => {
  const controller = new AbortController();
  const parent = await Deno.makeTempDir({ prefix: "bulkhead-test-" });
  const starting = startFixture("never-ready", { signal: controller.signal, socketParent: parent });
  setTimeout(() => controller.abort(new Error("changed my mind")), 300);
  await assert.rejects(starting, /changed my mind/);
  assert.deepEqual([...Deno.readDirSync(parent)], [], "socket directory left behind");
  await Deno.remove(parent);
  await assert.rejects(
    Plugin.start({ module: FIXTURE, signal: AbortSignal.abort(new Error("already")) }),
    /already/,
  );
});

Deno.test("a plugin that dies mid-call fails the call, not the host", async (t) => {
  for (
    const [action, expected] of [["segfault", { signal: "SIGSEGV" }], ["exit:7", { code: 7 }], [
      "throw",
      { code: 1 },
    ]] as const
  ) {
    await t.step(action, async () => {
      await using plugin = await startFixture("ok", { permissions: { unsafeFfi: true } });
      const socketDir = plugin.handshake.address.replace(/\/[^/]+$/, "");
      const error = await plugin.client(FixtureService).act({ action }).catch((e) => e);
      assert.ok(error instanceof ConnectError, `got ${error}`);
      assert.ok(
        [Code.Unavailable, Code.Canceled, Code.Internal].includes(error.code),
        String(error),
      );
      const status = await plugin.exited;
      for (const [key, value] of Object.entries(expected)) {
        assert.equal(status[key as keyof typeof status], value);
      }
      assert.equal(plugin.state, "exited");
      assertCleanedUp(plugin.pid, socketDir);
      const after = await plugin.client(FixtureService).echo({}).catch((e) => e);
      assert.ok(after instanceof ConnectError);
    });
  }
});

Deno.test("stop() escalates to SIGKILL for a plugin that ignores Shutdown and SIGTERM", async () => {
  const plugin = await startFixture("ignore-sigterm", { stopGraceMs: 300 });
  const fixture = plugin.client(FixtureService);
  const hung = fixture.act({ action: "busy-hang" }, { timeoutMs: 200 }).catch((e) => e);
  assert.equal((await hung).code, Code.DeadlineExceeded);
  const status = await plugin.stop();
  assert.equal(status.signal, "SIGKILL");
  assert.equal(isAlive(plugin.pid), false);
});

Deno.test("oversized messages either way are refused with RESOURCE_EXHAUSTED, the plugin lives on", async () => {
  await using plugin = await startFixture("ok", { maxMessageBytes: 4096 });
  const fixture = plugin.client(FixtureService);
  const tooBigRequest = await fixture.echo({ payload: new Uint8Array(8192) }).catch((e) => e);
  assert.ok(tooBigRequest instanceof ConnectError);
  assert.equal(tooBigRequest.code, Code.ResourceExhausted);
  const tooBigResponse = await fixture.act({ action: "big:8192" }).catch((e) => e);
  assert.ok(tooBigResponse instanceof ConnectError);
  assert.equal(tooBigResponse.code, Code.ResourceExhausted);
  assert.equal((await fixture.act({ action: "big:100" })).result.length, 100);
  assert.equal(plugin.state, "ready");
});

Deno.test("a plugin warming up answers NOT_SERVING; the host waits for SERVING unless told not to", async (t) => {
  await t.step("start waits until the warm-up is over", async () => {
    await using plugin = await startFixture("warmup:400");
    const { readyInMs } = plugin.info();
    assert.ok(readyInMs >= 400, `ready after ${readyInMs} ms`);
    assert.equal(await plugin.health(), "SERVING");
  });
  await t.step("waitForServing: false starts it at once, NOT_SERVING", async () => {
    await using plugin = await startFixture("warmup", { waitForServing: false });
    assert.equal(await plugin.health(), "NOT_SERVING");
    const echo = await plugin.client(FixtureService).echo({ text: "early" });
    assert.equal(echo.text, "early", "calls are the plugin's to refuse");
  });
  await t.step("a warm-up that never ends is a start timeout that says NOT_SERVING", async () => {
    // The error reports the last health answer the host saw, whatever failed
    // after it; the verdict follows the host's own report of that answer.
    let answered = false;
    const logger: Logger = (record) => {
      if (record.source === "host" && /answers NOT_SERVING/.test(record.message)) answered = true;
    };
    const error = await startFixture("warmup", { logger, startTimeoutMs: 3000 }).catch((e) => e);
    assert.ok(error instanceof HandshakeError, String(error));
    if (answered) {
      assert.match(error.message, /did not answer a health check within 3000 ms.*NOT_SERVING/);
    } else {
      // so loaded a machine that no answer came in 3 s: the error must not claim one
      assert.doesNotMatch(error.message, /NOT_SERVING/);
    }
  });
  await t.step("a failed warm-up exits the plugin, and says why", async () => {
    const error = await startFixture("warmup-fails").catch((e) => e);
    assert.ok(error instanceof PluginExitedError, String(error));
    assert.deepEqual(error.status, { code: 1, signal: null });
    assert.match(error.message, /Plugin failed to get ready: cache corrupt/);
  });
});
