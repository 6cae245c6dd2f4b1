/**
 * Descriptors a host inherited without close-on-exec (a shell's
 * `exec 7<file`, here one low and one high) must not reach its plugins,
 * nor the watchdog beside each: `Deno.Command` passes them on.
 */
import assert from "node:assert/strict";
import { HOSTILE_FIXTURES } from "./_log_stop_helpers.ts";

Deno.test("descriptors the host inherited do not reach its plugins", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bulkhead-fds-" });
  try {
    const secret = `${dir}/secret`;
    await Deno.writeTextFile(secret, "the host's, not the plugin's\n");
    const host = new URL("./fd_host.ts", HOSTILE_FIXTURES).pathname;
    const output = await new Deno.Command("bash", {
      args: [
        "-c",
        'exec 7<"$1" 12<"$1"; exec "$2" run -A "$3"',
        "fd-test",
        secret,
        Deno.execPath(),
        host,
      ],
      env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    const facts = JSON.parse(new TextDecoder().decode(output.stdout)) as {
      host: Record<string, string>;
      plugin: Record<string, string>;
      watchdog: Record<string, string> | null;
      greeting: string;
    };
    // the host did inherit them: the attack is real
    assert.equal(facts.host["7"], secret);
    assert.equal(facts.host["12"], secret);
    const leaked = (fds: Record<string, string>) =>
      Object.entries(fds).filter(([, target]) => target === secret);
    assert.deepEqual(leaked(facts.plugin), [], "the plugin got the host's descriptors");
    assert.ok(facts.watchdog !== null, "no watchdog found");
    assert.deepEqual(leaked(facts.watchdog), [], "the watchdog got the host's descriptors");
    assert.equal(facts.greeting, "Hello, Ada!");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
