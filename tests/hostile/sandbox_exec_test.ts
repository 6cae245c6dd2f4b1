/**
 * A hostile executable (fixtures/escape_exec.py) in its bubblewrap sandbox:
 * every way out it tries is denied or contained, and nothing it leaves
 * behind (a `setsid` child, a double-forked daemon) outlives the plugin or
 * a SIGKILLed host.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { Plugin } from "../../mod.ts";
import { exists, isAlive, named, PYTHON, runs, waitFor } from "../_helpers.ts";
import { readLines } from "../../src/host/lines.ts";
import { escapeSetting, processTree, readReport, watchdogOf } from "./_escape.ts";

const skip = runs(PYTHON, ["-c", "import grpc"]) ? undefined : "missing python3-grpcio";
const noBwrap = runs("bwrap", ["--version"]) ? undefined : "missing bwrap (bubblewrap)";

Deno.test({
  name: named(
    "a hostile executable's escape attempts are all denied in its sandbox",
    skip,
    noBwrap,
  ),
  ignore: skip !== undefined || noBwrap !== undefined,
  async fn() {
    await using setting = await escapeSetting(Deno.pid);
    const plugin = await Plugin.start({ ...setting.options, logger: () => {} });
    let tree: number[] = [];
    try {
      assert.equal(plugin.info().sandbox, "bubblewrap");
      const report = await readReport(setting.attemptsFile); // written before its handshake
      const table = report.attempts.map((a) => `${a.outcome.padEnd(8)}${a.name}: ${a.detail}`);
      console.log(`escape attempts:\n  ${table.join("\n  ")}`);
      assert.equal(report.attempts.length, 8, table.join("\n"));
      for (const attempt of report.attempts) {
        assert.equal(attempt.outcome, "denied", `${attempt.name}: ${attempt.detail}`);
      }
      // what it sees at / is what the sandbox mounted, nothing of the host's
      assert.ok(!report.visible_root.includes("home") && !report.visible_root.includes("root"));
      assert.equal(report.pid, 2, "the plugin is not pid 2 under its namespace's init");
      // and the evidence on this side: nothing written, no connection, the
      // watchdog and the other plugin alive
      assert.deepEqual([...Deno.readDirSync(setting.outsideDir)].map((e) => e.name), ["secret"]);
      assert.equal(setting.connections(), 0);
      const watchdog = watchdogOf(dirname(plugin.handshake.address));
      assert.ok(watchdog !== undefined && isAlive(watchdog), "the plugin's watchdog is gone");
      // sh, bwrap, bwrap as init, python, its setsid child, its daemon
      assert.ok(await waitFor(() => processTree(plugin.pid).length >= 6, 5000));
      tree = processTree(plugin.pid);
    } finally {
      await plugin.stop();
    }
    const gone = await waitFor(() => !tree.some(isAlive), 2000);
    const left = tree.filter(isAlive);
    for (const pid of left) Deno.kill(pid, "SIGKILL");
    assert.ok(gone, `still alive 2 s after the plugin stopped: ${left.join(", ")}`);
  },
});

Deno.test({
  name: named(
    "nothing of a sandboxed executable's tree (setsid child, double-forked daemon) outlives a SIGKILLed host by 2 s",
    skip,
    noBwrap,
  ),
  ignore: skip !== undefined || noBwrap !== undefined,
  async fn() {
    const host = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./fixtures/escape_exec_host.ts", import.meta.url).href],
      stdout: "piped",
      stderr: "piped",
      env: { RUST_BACKTRACE: "0" },
    }).spawn();
    const lines = readLines(host.stdout);
    const first = await lines.next();
    if (first.value === undefined) {
      assert.fail(`the host did not start its plugin: ${await new Response(host.stderr).text()}`);
    }
    const { pid, socketDir, attemptsFile, outsideDir } = JSON.parse(String(first.value)) as {
      pid: number;
      socketDir: string;
      attemptsFile: string;
      outsideDir: string;
    };
    try {
      assert.ok(await waitFor(() => processTree(pid).length >= 6, 5000));
      const tree = processTree(pid);
      const report = await readReport(attemptsFile);
      assert.ok(report.attempts.every((a) => a.outcome === "denied"), JSON.stringify(report));
      assert.ok(tree.every(isAlive));
      host.kill("SIGKILL");
      await host.status;
      const gone = await waitFor(() => !tree.some(isAlive), 2000);
      const left = tree.filter(isAlive).map((p) =>
        `${p} ${Deno.readTextFileSync(`/proc/${p}/cmdline`).replaceAll("\0", " ")}`
      );
      for (const p of tree.filter(isAlive)) Deno.kill(p, "SIGKILL");
      assert.ok(gone, `still alive 2 s after their host died:\n${left.join("\n")}`);
      const removed = await waitFor(() => !exists(socketDir), 2000);
      if (!removed) Deno.removeSync(socketDir, { recursive: true });
      assert.ok(removed, `socket directory ${socketDir} left 2 s after its host died`);
    } finally {
      try {
        host.kill("SIGKILL");
      } catch {
        // already dead
      }
      await host.status;
      await lines.return(undefined);
      await host.stderr.cancel();
      for (const dir of [dirname(attemptsFile), outsideDir]) {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    }
  },
});

const noUnshare = runs("unshare", ["--user", "--map-root-user", "true"])
  ? undefined
  : "cannot make a user namespace with unshare";

async function noSandboxHost(
  wrapper: string[],
  env: Record<string, string>,
): Promise<Record<string, unknown>> {
  const script = new URL("./fixtures/no_sandbox_host.ts", import.meta.url).href;
  const argv = [...wrapper, Deno.execPath(), "run", "-A", script];
  const output = await new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    env: { RUST_BACKTRACE: "0", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim();
  assert.ok(text !== "", new TextDecoder().decode(output.stderr));
  return JSON.parse(text);
}

Deno.test("an executable cannot start sandboxed without bwrap: a SandboxUnavailableError that says what to do", async () => {
  const got = await noSandboxHost([], { BULKHEAD_BWRAP: "/nonexistent/bwrap" });
  assert.equal(got.sandboxError, true, JSON.stringify(got));
  assert.equal(got.reason, "missing");
  assert.equal(got.plugin, "sh");
  assert.match(String(got.message), /\/nonexistent\/bwrap/);
  assert.match(String(got.message), /apt-get install bubblewrap/);
  assert.match(String(got.message), /sandbox: false/);
});

Deno.test({
  name: named(
    "an executable cannot start sandboxed where user namespaces are disabled: a SandboxUnavailableError",
    noBwrap,
    noUnshare,
  ),
  ignore: noBwrap !== undefined || noUnshare !== undefined,
  async fn() {
    // a user namespace of its own in which no further one may be made: what
    // a machine with user namespaces disabled looks like to bwrap
    const got = await noSandboxHost([
      "unshare",
      "--user",
      "--map-root-user",
      "sh",
      "-c",
      'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" "$@"',
    ], {});
    assert.equal(got.sandboxError, true, JSON.stringify(got));
    assert.equal(got.reason, "namespaces");
    assert.match(String(got.message), /user namespaces may be disabled/);
    assert.match(String(got.message), /sandbox: false/);
  },
});
