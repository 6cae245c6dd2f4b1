/**
 * A plugin that stops reading its socket (`fixtures/stop_unread.ts`) while
 * the host has a large request queued for it must not make its stop hang:
 * `Plugin#stop`, `await using`, `Supervisor#stop` and `bulkhead call` all
 * return, with the plugin killed. Hosts run as their own process
 * (`fixtures/stop_host.ts`, `cli.ts`): a stop that hangs is a host killed
 * by the safety-net timeout here, a failed test rather than a hung suite.
 */
import assert from "node:assert/strict";
import { isAlive } from "../_helpers.ts";
import { HOSTILE_FIXTURES, processesWith, runDeno, runHost } from "./_log_stop_helpers.ts";

for (const way of ["stop", "await-using", "supervisor"]) {
  Deno.test(`${way} returns and kills a plugin that stopped reading its socket`, async () => {
    const run = await runHost("stop_host.ts", [way], { timeoutMs: 60_000 });
    assert.equal(run.code, 0, `host exited ${run.code} (137: killed as hung)\n${run.stderr}`);
    const [fact] = run.facts as [{
      pid: number;
      stopMs: number;
      status?: { code: number; signal: string | null };
      call: string;
      payments: string;
    }];
    console.log(`${way}: stopped in ${fact.stopMs} ms (grace 300 ms)`);
    assert.equal(isAlive(fact.pid), false, `the plugin (pid ${fact.pid}) outlived its stop`);
    // it ignores SIGTERM: the stop went all the way to SIGKILL
    if (fact.status) assert.deepEqual(fact.status, { code: 137, signal: "SIGKILL" });
    // the call it never read failed with a typed error, not a hang
    assert.match(fact.call, /^(ConnectError \d+|PluginCrashedError)/);
    assert.equal(fact.payments, "Hello, Ada!"); // the other plugin is unharmed
  });
}

Deno.test("bulkhead call returns when its plugin stops reading the request", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bulkhead-unread-" });
  const marker = `unread-${crypto.randomUUID()}`;
  try {
    const request = `${dir}/request.json`;
    await Deno.writeTextFile(request, JSON.stringify({ name: "x".repeat(3 << 20) }));
    const run = await runDeno([
      new URL("../../cli.ts", import.meta.url).pathname,
      "call",
      "--rpc-timeout",
      "500",
      "bulkhead.examples.greeter.v1.GreeterService/Greet",
      `@${request}`,
      "--",
      new URL("./stop_unread.ts", HOSTILE_FIXTURES).pathname,
      marker,
    ], { timeoutMs: 60_000 });
    assert.equal(
      run.code,
      1,
      `bulkhead call exited ${run.code} (137: killed as hung)\n${run.stderr}`,
    );
    assert.match(run.stderr, /stopped-reading/);
    assert.match(run.stderr, /DEADLINE_EXCEEDED/);
    assert.deepEqual(processesWith(marker), [], "the plugin outlived bulkhead call");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
