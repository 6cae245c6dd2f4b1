/**
 * Errors a plugin author can act on, through the real CLI: a sandbox denial
 * in a handler is PERMISSION_DENIED with the grant; a plain thrown error is
 * UNKNOWN with its message; stdout before the handshake says to log to
 * stderr; a wrong cookie names the host's variable, never its value; the
 * plugin's stderr is printed once.
 *
 * @module
 */
import assert from "node:assert/strict";
import { cli } from "./_cli.ts";

const FIXTURE = "tests/fixtures/fixture_plugin.ts";
const ACT = "bulkhead.testing.v1.FixtureService/Act";

Deno.test("a sandbox denial in a handler is PERMISSION_DENIED with the grant that allows it", async () => {
  const result = await cli([
    "call",
    "-q",
    ACT,
    '{"action":"read-throws:/etc/passwd"}',
    "--",
    FIXTURE,
  ]);
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stderr,
    /^bulkhead: PERMISSION_DENIED: the plugin may not read "\/etc\/passwd"/m,
  );
  assert.match(result.stderr, /`permissions\.read: \["\/etc\/passwd"\]`/);
  assert.match(result.stderr, /`--allow-read=\/etc\/passwd`/);
  assert.doesNotMatch(result.stderr, /^\s+at /m);
});

Deno.test("a plain error thrown in a handler is UNKNOWN with its message, as grpc-go answers it", async () => {
  const result = await cli([
    "call",
    "-q",
    ACT,
    '{"action":"handler-throws:disk on fire"}',
    "--",
    FIXTURE,
  ]);
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.stderr, "bulkhead: UNKNOWN: disk on fire\n");
});

Deno.test("stdout before the handshake: the error says to log to stderr and quotes the line", async () => {
  const result = await cli(["health", "--", FIXTURE, "bad-handshake"]);
  assert.equal(result.code, 3, result.stderr);
  assert.match(result.stderr, /printed to stdout before its handshake/);
  assert.match(result.stderr, /print logs to stderr/);
  assert.match(result.stderr, /\(line: "hello, I am not a handshake"\)/);
});

Deno.test("a wrong cookie: the host's variable is named, the values are said to differ, no value is printed", async (t) => {
  await t.step("another variable", async () => {
    const result = await cli(["health", "--cookie", "OTHER_APP=s3cret-value", "--", FIXTURE]);
    assert.equal(result.code, 3, result.stderr);
    assert.match(
      result.stderr,
      /refused the host's magic cookie\. The host set the cookie OTHER_APP/,
    );
    assert.match(result.stderr, /BULKHEAD_PLUGIN, this plugin's magic cookie, is not set/);
    assert.doesNotMatch(result.stderr, /s3cret-value/);
  });
  await t.step("the same variable, another value", async () => {
    const result = await cli(["health", "--cookie", "BULKHEAD_PLUGIN=s3cret-value", "--", FIXTURE]);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /The host set the cookie BULKHEAD_PLUGIN \(value not shown\)/);
    assert.match(result.stderr, /its value differs from this plugin's magic cookie/);
    assert.doesNotMatch(result.stderr, /s3cret-value/);
  });
});

Deno.test("the plugin's stderr is printed once: live, not again as the error's tail", async () => {
  const result = await cli(["health", "--cookie", "OTHER_APP=x", "--", FIXTURE]);
  assert.equal(result.code, 3, result.stderr);
  const line = /This program is a plugin/g;
  assert.equal(result.stderr.match(line)?.length, 1, result.stderr);
  assert.match(result.stderr, /\(its stderr is above\)/);
  const quiet = await cli(["health", "-q", "--cookie", "OTHER_APP=x", "--", FIXTURE]);
  assert.equal(quiet.stderr.match(line)?.length, 1, quiet.stderr); // in the tail only
  assert.match(quiet.stderr, /last stderr lines:/);
});

Deno.test("a sandbox denial in a pipeline plugin's Init names the grant, not a refused configuration", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const plugin = new URL("./fixtures/init_reads_plugin.ts", import.meta.url).pathname;
    await Deno.writeTextFile(
      `${dir}/pipeline.yaml`,
      `input: { generate: { count: 1 } }
processors:
  - plugin: { module: ${plugin}, config: { path: /etc/hostname } }
output: drop
`,
    );
    const result = await cli(["run", "-q", `${dir}/pipeline.yaml`]);
    assert.equal(result.code, 3, result.stderr);
    assert.match(
      result.stderr,
      /its Init was denied a permission: the plugin may not read "\/etc\/hostname"/,
    );
    assert.match(result.stderr, /`permissions\.read: \["\/etc\/hostname"\]`/);
    assert.doesNotMatch(result.stderr, /refused its configuration/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
