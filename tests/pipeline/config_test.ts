import assert from "node:assert/strict";
import { loadPipelineConfig, parsePipelineConfig, PipelineConfigError } from "../../mod.ts";
import { componentPluginOptions } from "../../src/pipeline/plugin_launch.ts";
import { describePipeline } from "../../src/pipeline/plan.ts";

function issuesOf(text: string): string[] {
  try {
    parsePipelineConfig(text, { file: "pipeline.yaml", dir: "/nonexistent-dir" });
  } catch (error) {
    assert.ok(error instanceof PipelineConfigError, String(error));
    return error.message.split("\n").slice(error.issues.length === 1 ? 0 : 1);
  }
  assert.fail("expected a PipelineConfigError");
}

Deno.test("parsePipelineConfig() names file, line and field of every problem", async (t) => {
  await t.step("a processor's command that does not exist", () => {
    const text = [
      "input:",
      "  generate: { count: 3 }",
      "processors:",
      "  - plugin:",
      "      command: /bin/sh",
      "  - plugin:",
      "      command: ./no-such-plugin",
      "output: drop",
    ].join("\n");
    const [issue] = issuesOf(text);
    assert.match(issue!, /pipeline\.yaml:7: processors\[1\]\.plugin\.command: not found/);
  });
  await t.step("wrong types, unknown fields and bad durations, all at once", () => {
    const text = [
      "input:",
      "  generate:",
      "    count: -1",
      "batching:",
      "  period: soon",
      "max_in_flight: 0",
      "output: stdout",
      "colour: blue",
    ].join("\n");
    assert.deepEqual(
      issuesOf(text).sort(),
      [
        "pipeline.yaml:3: input.generate.count: must be a whole number of at least 0",
        "pipeline.yaml:5: batching.period: must be a duration such as 250ms, 2s or 1m, got soon",
        "pipeline.yaml:6: max_in_flight: must be a whole number of at least 1",
        "pipeline.yaml:8: colour: unknown field (expected one of: input, batching, max_in_flight, processors, output, dead_letter)",
      ].sort(),
    );
  });
  await t.step("missing input and output", () => {
    const issues = issuesOf("batching: { count: 5 }\n");
    assert.ok(issues.some((i) => /^pipeline\.yaml:1: input: missing/.test(i)), issues.join("\n"));
    assert.ok(issues.some((i) => /^pipeline\.yaml:1: output: missing/.test(i)), issues.join("\n"));
  });
  await t.step("two inputs, a bad launch mode, module and command together", () => {
    const text = [
      "input:",
      "  stdin: {}",
      "  generate: {}",
      "processors:",
      "  - plugin:",
      "      module: https://example.com/p.ts",
      "      command: /bin/sh",
      "      launch: sideways",
      "output: drop",
    ].join("\n");
    const issues = issuesOf(text);
    assert.ok(
      issues.includes("pipeline.yaml:2: input: give only one of: stdin, generate"),
      issues.join("\n"),
    );
    assert.ok(
      issues.includes("pipeline.yaml:6: processors[0].plugin: give only one of module or command"),
      issues.join("\n"),
    );
    assert.ok(
      issues.includes(
        "pipeline.yaml:8: processors[0].plugin.launch: must be bulkhead or redpanda, got sideways",
      ),
      issues.join("\n"),
    );
  });
  await t.step("handshake: go-plugin or none; launch is its older name, not both", () => {
    const plugin = (fields: string) =>
      `input: { stdin: {} }\nprocessors:\n  - plugin: { module: https://example.com/p.ts, ${fields} }\noutput: drop`;
    assert.match(
      issuesOf(plugin("handshake: redpanda")).join("\n"),
      /pipeline\.yaml:3: processors\[0\]\.plugin\.handshake: must be go-plugin or none, got redpanda/,
    );
    assert.match(
      issuesOf(plugin("handshake: none, launch: redpanda")).join("\n"),
      /pipeline\.yaml:3: processors\[0\]\.plugin\.launch: give handshake or launch \(its older name\), not both/,
    );
  });
  await t.step("module_root: a directory, for a module only", () => {
    const examples = new URL("../../examples", import.meta.url).pathname;
    const text = [
      "input: { generate: { count: 1 } }",
      "processors:",
      `  - plugin: { module: ${examples}/uppercase/plugin.ts, module_root: ./nowhere }`,
      `  - plugin: { module: ${examples}/uppercase/plugin.ts, module_root: ${examples}/uppercase/plugin.ts }`,
      "  - plugin: { command: /bin/sh, module_root: /tmp }",
      `  - plugin: { module: ${examples}/uppercase/plugin.ts, module_root: [a] }`,
      "output: drop",
    ].join("\n");
    assert.deepEqual(issuesOf(text), [
      "pipeline.yaml:3: processors[0].plugin.module_root: not a directory: ./nowhere",
      `pipeline.yaml:4: processors[1].plugin.module_root: not a directory: ${examples}/uppercase/plugin.ts`,
      "pipeline.yaml:5: processors[2].plugin.module_root: applies to a Deno module only (give module, not command)",
      "pipeline.yaml:6: processors[3].plugin.module_root: must be a non-empty string",
    ]);
  });
  await t.step("invalid YAML", () => {
    const [issue] = issuesOf("input: [unclosed\n");
    assert.match(issue!, /^pipeline\.yaml:\d+: invalid YAML/);
  });
});

Deno.test("parsePipelineConfig() fills defaults and resolves paths against the file's folder", () => {
  const config = parsePipelineConfig(
    [
      "input: { file: { path: crashy/pipeline.yaml } }",
      "processors:",
      "  - plugin: { module: uppercase/plugin.ts, handshake: none, processes: 2 }",
      "output: drop",
    ].join("\n"),
    { dir: new URL("../../examples", import.meta.url).pathname },
  );
  assert.equal(config.maxInFlight, 4);
  assert.deepEqual(config.batching, { count: 100 });
  assert.equal(config.deadLetter.kind, "stderr");
  const [stage] = config.processors;
  assert.ok(stage?.kind === "plugin");
  assert.equal(stage.name, "uppercase");
  assert.equal(stage.plugin.handshake, "none");
  assert.equal(stage.plugin.processes, 2);
  assert.ok(stage.plugin.module?.endsWith("/examples/uppercase/plugin.ts"));
  assert.equal(stage.plugin.moduleRoot, undefined, "default: the module's folder, at start");
});

Deno.test("parsePipelineConfig() resolves module_root against the file's folder and passes it on", () => {
  const examples = new URL("../../examples", import.meta.url).pathname.replace(/\/$/, "");
  const config = parsePipelineConfig(
    [
      "input: { generate: { count: 1 } }",
      "processors:",
      "  - plugin: { module: uppercase/plugin.ts, module_root: . }",
      "output: drop",
    ].join("\n"),
    { dir: examples },
  );
  const [stage] = config.processors;
  assert.ok(stage?.kind === "plugin");
  assert.equal(stage.plugin.moduleRoot, examples);
  const options = componentPluginOptions(stage.plugin, "processor");
  assert.equal(options.moduleRoot, examples);
});

Deno.test("loadPipelineConfig() reports a missing file as a configuration error", async () => {
  const error = await loadPipelineConfig("/nonexistent/pipeline.yaml").catch((e) => e);
  assert.ok(error instanceof PipelineConfigError);
  assert.match(error.message, /\/nonexistent\/pipeline\.yaml: cannot read/);
});

Deno.test("parsePipelineConfig() names a plugin run by an interpreter after its script", async (t) => {
  const dir = new URL("../../examples", import.meta.url).pathname;
  const nameOf = (plugin: string) => {
    const config = parsePipelineConfig(
      `input: { generate: { count: 1 } }\nprocessors:\n  - plugin: ${plugin}\noutput: drop\n`,
      { dir },
    );
    const [stage] = config.processors;
    assert.ok(stage?.kind === "plugin");
    return stage.name;
  };
  await t.step("python3 and its script", () => {
    assert.equal(
      nameOf("{ command: /usr/bin/python3, args: [./python/processor.py] }"),
      "processor",
    );
  });
  await t.step("flags before the script are skipped", () => {
    assert.equal(
      nameOf("{ command: /usr/bin/python3, args: [-u, -B, ./python/processor.py] }"),
      "processor",
    );
  });
  await t.step("a generic script name gives its folder's", () => {
    assert.equal(nameOf("{ command: /bin/sh, args: [-e, ./crashy/plugin.sh] }"), "crashy");
  });
  await t.step("python3 -m names the module", () => {
    assert.equal(
      nameOf("{ command: /usr/bin/python3, args: [-m, titlecase.plugin] }"),
      "titlecase.plugin",
    );
  });
  await t.step("an executable that is no interpreter keeps its own name", () => {
    assert.equal(nameOf("{ command: /bin/sh }"), "sh");
    assert.equal(nameOf("{ command: /bin/true, args: [./python/processor.py] }"), "true");
  });
  await t.step("a name given wins", () => {
    assert.equal(
      nameOf("{ name: titles, command: /usr/bin/python3, args: [./python/processor.py] }"),
      "titles",
    );
  });
});

Deno.test("a command plugin is sandboxed unless its YAML says sandbox: false, which run --check warns about", async (t) => {
  const yaml = (plugin: string[]) =>
    [
      "input:",
      "  generate: { count: 3 }",
      "processors:",
      "  - plugin:",
      ...plugin.map((line) => `      ${line}`),
      "output: drop",
    ].join("\n");
  const parse = (text: string) =>
    parsePipelineConfig(text, { file: "pipeline.yaml", dir: "/nonexistent-dir" });
  const stageOf = (config: ReturnType<typeof parse>) => {
    const stage = config.processors[0]!;
    assert.ok(stage.kind === "plugin");
    return stage.plugin;
  };
  await t.step("by default", () => {
    const config = parse(yaml(["command: /bin/sh", "permissions: { read: [/data] }"]));
    assert.equal(stageOf(config).sandbox, true);
    const text = describePipeline(config, "/");
    assert.match(text, /sh: command bin\/sh, .*sandboxed by bubblewrap, may use read \/data/);
    assert.doesNotMatch(text, /WARNING/);
  });
  await t.step("net is all or nothing, and says so", () => {
    const config = parse(yaml(["command: /bin/sh", "permissions: { net: [example.com:443] }"]));
    assert.match(describePipeline(config, "/"), /WARNING: may connect anywhere: .*all or nothing/);
  });
  await t.step("sandbox: false", () => {
    const config = parse(yaml(["command: /bin/sh", "sandbox: false"]));
    assert.equal(stageOf(config).sandbox, false);
    assert.match(describePipeline(config, "/"), /WARNING: not sandboxed \(sandbox: false\)/);
  });
  await t.step("sandbox: false on a module is an error", () => {
    const issues = issuesOf(yaml(["module: https://example.com/p.ts", "sandbox: false"]));
    assert.ok(
      issues.some((i) => /processors\[0\]\.plugin\.sandbox: applies to commands/.test(i)),
      issues.join("\n"),
    );
  });
});

Deno.test("parsePipelineConfig() reads sha256 (64 hex digits) and passes it to the start", () => {
  const examples = new URL("../../examples", import.meta.url).pathname.replace(/\/$/, "");
  const hash = "ab".repeat(32);
  const config = parsePipelineConfig(
    [
      "input: { generate: { count: 1 } }",
      "processors:",
      `  - plugin: { module: uppercase/plugin.ts, sha256: ${hash} }`,
      "output: drop",
    ].join("\n"),
    { dir: examples },
  );
  const [stage] = config.processors;
  assert.ok(stage?.kind === "plugin");
  assert.equal(stage.plugin.sha256, hash);
  assert.equal(componentPluginOptions(stage.plugin, "processor").sha256, hash);
  assert.deepEqual(
    issuesOf(
      [
        "input: { generate: { count: 1 } }",
        "processors:",
        "  - plugin: { command: /bin/sh, sha256: abc }",
        "  - plugin: { command: /bin/sh, sha256: [a] }",
        "output: drop",
      ].join("\n"),
    ),
    [
      "pipeline.yaml:3: processors[0].plugin.sha256: must be 64 hex digits (bulkhead inspect prints it)",
      "pipeline.yaml:4: processors[1].plugin.sha256: must be a non-empty string",
    ],
  );
});
