import assert from "node:assert/strict";
import { HandshakeError, Plugin, PluginExitedError } from "../../mod.ts";
import { FIXTURE, isAlive } from "../_helpers.ts";

/** A shell plugin: `script` runs under /bin/sh with a private socket parent. */
async function startShell(script: string, extra: Partial<Parameters<typeof Plugin.start>[0]>) {
  const parent = await Deno.makeTempDir({ prefix: "bulkhead-test-" });
  try {
    const error = await Plugin.start({
      command: "/bin/sh",
      args: ["-c", script],
      name: "shell",
      logger: () => {},
      socketParent: parent,
      ...extra,
    }).then(
      (plugin) => plugin.stop().then(() => assert.fail("the start should have failed")),
      (e: unknown) => e,
    );
    assert.deepEqual([...Deno.readDirSync(parent)], [], "socket directory left behind");
    return error;
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
}

/** The pid a shell plugin reported on stderr as `child <pid>`. */
function childPid(error: { stderrTail: readonly string[] }): number {
  const line = error.stderrTail.find((l) => l.startsWith("child "));
  assert.ok(line, `no child pid in ${JSON.stringify(error.stderrTail)}`);
  return Number(line.slice("child ".length));
}

// Exits halfway through its handshake line; its child keeps stdout (and
// stderr) open for a minute, so no newline and no end of stdout ever comes.
const EXITS_MID_LINE = '/bin/sleep 60 & echo "child $!" >&2; printf "1|1|unix|"; exit 0';

Deno.test("Plugin.start() does not wait for a line that a plugin's child keeps from ending", async (t) => {
  for (const startTimeoutMs of [300, 10_000]) {
    await t.step(`start timeout ${startTimeoutMs} ms`, async () => {
      const error = await startShell(EXITS_MID_LINE, { startTimeoutMs });
      // not a "malformed" line once the child exits a minute later: the exit
      assert.ok(error instanceof PluginExitedError, String(error));
      assert.deepEqual(error.status, { code: 0, signal: null });
      assert.equal(error.plugin, "shell");
      assert.match(error.message, /exited before its handshake with exit code 0/);
      assert.equal(isAlive(childPid(error)), false, "the child holding stdout was killed");
    });
  }
});

Deno.test("a start stopped by the caller's signal is a HandshakeError, whoever owned the signal", async (t) => {
  // alive, half a line printed, a child holding stdout: only the signal ends the wait
  const stuck = '/bin/sleep 60 & echo "child $!" >&2; printf "1|1|unix|"; exec /bin/sleep 60';
  await t.step("the caller's AbortSignal.timeout: reason timeout", async () => {
    const signal = AbortSignal.timeout(300);
    const error = await startShell(stuck, { signal, startTimeoutMs: 60_000 });
    assert.ok(error instanceof HandshakeError, String(error));
    assert.equal(error.reason, "timeout");
    assert.equal(error.plugin, "shell");
    assert.equal(error.cause, signal.reason);
    assert.match(error.message, /no handshake line before the caller's deadline/);
    assert.equal(isAlive(childPid(error)), false);
  });
  await t.step("the start's own timeout: reason timeout", async () => {
    const error = await startShell(stuck, { startTimeoutMs: 300 });
    assert.ok(error instanceof HandshakeError, String(error));
    assert.equal(error.reason, "timeout");
    assert.match(error.message, /no handshake line within 300 ms/);
    assert.ok(error.cause instanceof DOMException && error.cause.name === "TimeoutError");
  });
  await t.step("an abort for another reason: reason aborted, the reason as cause", async () => {
    const controller = new AbortController();
    const why = new Error("changed my mind");
    const starting = startShell(stuck, { signal: controller.signal, startTimeoutMs: 60_000 });
    setTimeout(() => controller.abort(why), 300);
    const error = await starting;
    assert.ok(error instanceof HandshakeError, String(error));
    assert.equal(error.reason, "aborted");
    assert.equal(error.cause, why);
    assert.match(error.message, /the start was aborted \(changed my mind\)/);
    assert.equal(isAlive(childPid(error)), false);
  });
  await t.step("a signal aborted before the start: nothing is spawned", async () => {
    const why = new Error("already");
    const error = await startShell("echo started >&2; exec /bin/sleep 60", {
      signal: AbortSignal.abort(why),
    });
    assert.ok(error instanceof HandshakeError, String(error));
    assert.equal(error.reason, "aborted");
    assert.equal(error.cause, why);
    assert.deepEqual(error.stderrTail, []);
  });
  await t.step("a Deno plugin aborted while its socket does not answer", async () => {
    const controller = new AbortController();
    const starting = Plugin.start({
      module: FIXTURE,
      args: ["no-socket"],
      logger: () => {},
      signal: controller.signal,
      startTimeoutMs: 60_000,
    }).catch((e) => e);
    setTimeout(() => controller.abort(new Error("shutting down")), 1500);
    const error = await starting;
    assert.ok(error instanceof HandshakeError, String(error));
    assert.equal(error.reason, "aborted");
    assert.match(error.message, /shutting down/);
  });
});
