/**
 * Strict pipeline configuration through `bulkhead run --check`: numbers
 * without units, every problem at once in file order, "did you mean",
 * environment references as Redpanda Connect writes them.
 *
 * @module
 */
import assert from "node:assert/strict";
import { cli } from "./_cli.ts";

async function check(yaml: string, env: Record<string, string> = {}) {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/pipeline.yaml`, yaml);
    await Deno.writeTextFile(`${dir}/plugin.ts`, "// never started by --check\n");
    for (const [name, value] of Object.entries(env)) Deno.env.set(name, value);
    const result = await cli(["run", "--check", `${dir}/pipeline.yaml`]);
    return { ...result, stderr: result.stderr.replaceAll(`${dir}/`, "") };
  } finally {
    for (const name of Object.keys(env)) Deno.env.delete(name);
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("run --check reports every problem at once, sorted by line, several in one block", async () => {
  const result = await check(`input:
  generate: { count: 3, mesage: "m" }
batching:
  period: 50
processors:
  - plugin:
      module: ./plugin.ts
      timeout: "10"
      start_timeout: 2
      restart: { max_delay: 5s, windw: 1m }
outptu: stdout
`);
  assert.equal(result.code, 2, result.stderr);
  const lines = result.stderr.trimEnd().split("\n").filter((line) => line.startsWith("pipeline"));
  assert.deepEqual(lines.map((line) => line.replace(/ \(expected one of: .*\)$/, "")), [
    "pipeline.yaml:1: output: missing",
    "pipeline.yaml:2: input.generate.mesage: unknown field: did you mean `message`?",
    'pipeline.yaml:4: batching.period: "50" has no unit (50ms? 50s?)',
    'pipeline.yaml:8: processors[0].plugin.timeout: "10" has no unit (10ms? 10s?)',
    'pipeline.yaml:9: processors[0].plugin.start_timeout: "2" has no unit (2ms? 2s?)',
    "pipeline.yaml:10: processors[0].plugin.restart.windw: unknown field: did you mean `window`?",
    "pipeline.yaml:11: outptu: unknown field: did you mean `output`?",
  ]);
});

Deno.test("run --check fills in ${VAR} and ${VAR:default}; an unset one without default is an error", async (t) => {
  const yaml = `input: { generate: { count: \${BH_TEST_COUNT:2}, message: "m \${! i }" } }
processors:
  - plugin: { module: ./\${BH_TEST_PLUGIN}.ts }
output: stdout
`;
  await t.step("set", async () => {
    const result = await check(yaml, { BH_TEST_PLUGIN: "plugin" });
    assert.equal(result.code, 0, result.stderr);
  });
  await t.step("unset, no default", async () => {
    const result = await check(yaml);
    assert.equal(result.code, 2, result.stderr);
    assert.match(
      result.stderr,
      /pipeline\.yaml:3: \$\{BH_TEST_PLUGIN\}: the environment variable BH_TEST_PLUGIN is not set \(set it, or give a default: \$\{BH_TEST_PLUGIN:value\}\)/,
    );
  });
});

Deno.test("the generate input numbers messages with ${! i }", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/pipeline.yaml`,
      'input: { generate: { count: 3, message: "m${! i }-${!i}" } }\noutput: stdout\n',
    );
    const result = await cli(["run", "-q", `${dir}/pipeline.yaml`]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "m1-1\nm2-2\nm3-3\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run --check prints timeouts, batching and restart policy, and checks output directories", async (t) => {
  await t.step("valid", async () => {
    const result = await check(`input: stdin
batching: { count: 10, period: 2s }
processors:
  - plugin: { module: ./plugin.ts, timeout: 1m, restart: { max_crashes: 3, window: 30s } }
output: drop
`);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /batching +10 messages or 2s, 4 in flight/);
    assert.match(result.stdout, /timeout 1m, start timeout 10s/);
    assert.match(result.stdout, /restart after 50ms…5s, give up after 3 crashes in 30s/);
  });
  await t.step("a file output in a missing directory", async () => {
    const result = await check(
      "input: stdin\noutput: { file: { path: /nonexistent-bulkhead-dir/out.txt } }\n",
    );
    assert.equal(result.code, 2, result.stderr);
    assert.match(
      result.stderr,
      /pipeline\.yaml: output\.file\.path: its directory \/nonexistent-bulkhead-dir does not exist/,
    );
  });
  if (Deno.uid() !== 0) {
    await t.step("a file output in a read-only directory", async () => {
      const result = await check(
        "input: stdin\ndead_letter: { file: { path: /proc/x.jsonl } }\noutput: drop\n",
      );
      assert.equal(result.code, 2, result.stderr);
      assert.match(
        result.stderr,
        /dead_letter\.file\.path: (its directory \/proc is not writable|cannot write into \/proc)/,
      );
    });
  }
});

Deno.test("run --schema prints a JSON Schema of the pipeline file", async () => {
  const result = await cli(["run", "--schema"]);
  assert.equal(result.code, 0, result.stderr);
  const schema = JSON.parse(result.stdout);
  assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
  assert.deepEqual(Object.keys(schema.properties).sort(), [
    "batching",
    "dead_letter",
    "input",
    "max_in_flight",
    "output",
    "processors",
  ]);
  const plugin = schema.properties.processors.items.properties.plugin;
  assert.match("10s", new RegExp(plugin.properties.timeout.pattern));
  assert.doesNotMatch("10", new RegExp(plugin.properties.timeout.pattern));
});
