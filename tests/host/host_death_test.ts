import assert from "node:assert/strict";
import { isAlive, waitFor } from "../_helpers.ts";
import { readLines } from "../../src/host/lines.ts";

const fixtures = new URL("../fixtures/", import.meta.url);

function runHost(script: string, args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(script, fixtures).href, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { RUST_BACKTRACE: "0" },
  }).spawn();
  return child;
}

Deno.test("Deno plugins exit within 2 s when their host is SIGKILLed", async (t) => {
  for (let round = 1; round <= 3; round++) {
    await t.step(`round ${round}`, async () => {
      const host = runHost("orphan_host.ts", ["2"]);
      const lines = readLines(host.stdout);
      const first = await lines.next();
      const pids = JSON.parse(String(first.value)) as number[];
      assert.equal(pids.length, 2);
      assert.ok(pids.every(isAlive));
      host.kill("SIGKILL");
      await host.status;
      const gone = await waitFor(() => !pids.some(isAlive), 2000);
      for (const pid of pids.filter(isAlive)) Deno.kill(pid, "SIGKILL");
      assert.ok(gone, `plugins still alive 2 s after their host died: ${pids.filter(isAlive)}`);
      await lines.return(undefined);
      await host.stderr.cancel();
    });
  }
});

Deno.test("a plugin that sends GOAWAY on its own does not take the host down", async () => {
  const host = runHost("goaway_host.ts", ["10", "node-http2"]);
  const [status, stdout, stderr] = await Promise.all([
    host.status,
    new Response(host.stdout).text(),
    new Response(host.stderr).text(),
  ]);
  assert.equal(status.signal, null, `host died by ${status.signal}: ${stderr.slice(-2000)}`);
  assert.equal(status.code, 0, stderr.slice(-2000));
  assert.match(stdout, /survived 10/);
});
