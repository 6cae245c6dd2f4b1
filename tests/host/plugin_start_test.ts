import assert from "node:assert/strict";
import { HandshakeError, Plugin, PluginExitedError } from "../../mod.ts";
import { FIXTURE, isAlive } from "../_helpers.ts";

/**
 * Starts a shell plugin (`script` under /bin/sh, with a private socket
 * parent) that must fail; returns its error. `onStderr` sees its stderr lines.
 */
async function startShell(
  script: string,
  extra: Partial<Parameters<typeof Plugin.start>[0]>,
  onStderr: (line: string) => void = () => {},
) {
  const parent = await Deno.makeTempDir({ prefix: "bulkhead-test-" });
  try {
    const error = await Plugin.start({
      command: "/bin/sh",
      args: ["-c", script],
      name: "shell",
      logger: (r) => r.source === "stderr" && onStderr(r.message),
      socketParent: parent,
      // unsandboxed: in bubblewrap the child dies with the plugin, so no pipe outlives it
      sandbox: false,
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
  await t.step("the exit is the failure", async () => {
    const error = await startShell(EXITS_MID_LINE, { startTimeoutMs: 30_000 });
    // not a "malformed" line once the child exits a minute later: the exit
    assert.ok(error instanceof PluginExitedError, String(error));
    assert.deepEqual(error.status, { code: 0, signal: null });
    assert.equal(error.plugin, "shell");
    assert.match(error.message, /exited before its handshake with exit code 0/);
    assert.equal(isAlive(childPid(error)), false, "the child holding stdout was killed");
  });
  await t.step("a short start timeout: the exit, or the timeout, never the wait", async () => {
    const error = await startShell(EXITS_MID_LINE, { startTimeoutMs: 300 });
    assert.ok(
      error instanceof PluginExitedError ||
        error instanceof HandshakeError && error.reason === "timeout",
      String(error),
    );
  });
});

Deno.test("a start stopped by the caller's signal is a HandshakeError, whoever owned the signal", async (t) => {
  // alive, half a line printed, a child holding stdout: only the signal ends the wait
  const stuck = '/bin/sleep 60 & echo "child $!" >&2; printf "1|1|unix|"; exec /bin/sleep 60';
  /** Aborts `controller` with `reason` once the plugin has forked its child. */
  const abortOnChild = (controller: AbortController, reason: unknown) => (line: string) => {
    if (line.startsWith("child ")) controller.abort(reason);
  };
  await t.step("the caller's timeout: reason timeout", async () => {
    const controller = new AbortController();
    const timeout = new DOMException("signal timed out", "TimeoutError"); // AbortSignal.timeout's
    const error = await startShell(
      stuck,
      { signal: controller.signal, startTimeoutMs: 60_000 },
      abortOnChild(controller, timeout),
    );
    assert.ok(error instanceof HandshakeError, String(error));
    assert.equal(error.reason, "timeout");
    assert.equal(error.plugin, "shell");
    assert.equal(error.cause, timeout);
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
    const error = await startShell(
      stuck,
      { signal: controller.signal, startTimeoutMs: 60_000 },
      abortOnChild(controller, why),
    );
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
