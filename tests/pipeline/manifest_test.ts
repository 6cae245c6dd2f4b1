import assert from "node:assert/strict";
import { parsePipelineConfig, PipelineConfigError } from "../../mod.ts";
import { discoverManifests, parseManifest } from "../../src/pipeline/manifest.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const PYTHON_MANIFESTS = `${ROOT}examples/python/plugins/*.yaml`;

function issuesOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof PipelineConfigError, String(error));
    return error.issues.map((i) => `${i.file}:${i.line}: ${i.field}: ${i.message}`);
  }
  assert.fail("expected a PipelineConfigError");
}

Deno.test("parseManifest() reads Redpanda Connect's plugin.yaml and names each problem's line", () => {
  const m = parseManifest(
    [
      "name: fizzbuzz",
      "summary: s",
      "command: [./fb, --fast]",
      "cwd: bin",
      "type: processor",
      "fields:",
      "  - { name: n, description: how many, type: int }",
      "  - { name: words, type: string, kind: list, default: [fizz, buzz], advanced: true }",
    ].join("\n"),
    "/srv/fb/plugin.yaml",
  );
  assert.equal(m.cwd, "/srv/fb/bin");
  assert.deepEqual(m.command, ["./fb", "--fast"]);
  assert.deepEqual(m.fields[0], {
    name: "n",
    description: "how many",
    type: "int",
    kind: "scalar",
    advanced: false,
  });
  assert.deepEqual(m.fields[1]!.default, ["fizz", "buzz"]);
  assert.deepEqual(
    issuesOf(() =>
      parseManifest(
        ["name: Fizz", "type: sink", "fields:", "  - { name: a, type: double, kind: set }"].join(
          "\n",
        ),
        "p.yaml",
      )
    ),
    [
      "p.yaml:1: name: must be lowercase letters, digits and underscores",
      "p.yaml:1: command: missing: give the plugin's argv, e.g. [python3, main.py]",
      "p.yaml:2: type: must be input, processor or output, got sink",
      "p.yaml:4: fields[0].type: must be one of string, int, float, bool, unknown, got double",
      "p.yaml:4: fields[0].kind: must be one of scalar, list, map, got set",
    ],
  );
});

Deno.test("a pipeline names a manifest's plugin; its config is checked against the fields, with defaults", async () => {
  const plugins = await discoverManifests([PYTHON_MANIFESTS]);
  assert.deepEqual([...plugins.keys()], ["titlecase"]);
  const good = parsePipelineConfig(
    "input: stdin\nprocessors:\n  - titlecase: {}\n  - titlecase: { mode: reverse }\noutput: stdout\n",
    { plugins },
  );
  const [first, second] = good.processors;
  assert.ok(first?.kind === "plugin" && second?.kind === "plugin");
  assert.deepEqual(first.plugin.config, { mode: "title" }, "the default");
  assert.deepEqual(second.plugin.config, { mode: "reverse" });
  assert.equal(first.plugin.handshake, "none");
  assert.equal(first.plugin.command, "/usr/bin/python3");
  assert.deepEqual(first.plugin.args, ["processor.py"]);
  assert.equal(first.plugin.cwd, `${ROOT}examples/python`, "cwd: .. from plugins/");

  const text = [
    "input: stdin",
    "processors:",
    "  - titlecase: { mode: 3 }",
    "  - titlecase: { mood: title }",
    "  - fizzbuzz: {}",
    "output: stdout",
  ].join("\n");
  assert.deepEqual(issuesOf(() => parsePipelineConfig(text, { plugins })), [
    "pipeline.yaml:3: processors[0].titlecase.mode: must be a string",
    "pipeline.yaml:4: processors[1].titlecase.mood: unknown field (expected one of: mode)",
    "pipeline.yaml:5: processors[2].fizzbuzz: unknown field (expected one of: plugin, titlecase)",
    "pipeline.yaml:5: processors[2]: missing (expected one of: plugin, titlecase)",
  ]);
});

Deno.test("a required manifest field without a value is a configuration error at its component", () => {
  const manifest = parseManifest(
    "name: fb\ncommand: [/bin/true]\ntype: output\nfields:\n  - { name: n, type: int, description: count }\n",
    "/srv/fb.yaml",
  );
  const plugins = new Map([["fb", manifest]]);
  assert.deepEqual(
    issuesOf(() => parsePipelineConfig("input: stdin\noutput:\n  fb: {}\n", { plugins })),
    ["pipeline.yaml:3: output.fb.n: missing (required by plugin fb: count)"],
  );
  const ok = parsePipelineConfig("input: stdin\noutput:\n  fb: { n: 2 }\n", { plugins });
  assert.ok(ok.output.kind === "plugin");
  assert.deepEqual(ok.output.plugin.config, { n: 2 });
});
