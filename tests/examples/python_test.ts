/**
 * examples/python: the Python grpcio processor, launched as Redpanda Connect
 * launches its plugins, in pipelines run by `bulkhead run`. Skipped, saying
 * why in the test name, when /usr/bin/python3 lacks grpcio or protobuf.
 *
 * @module
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;
const CLI = `${ROOT}cli.ts`;
const PYTHON = "/usr/bin/python3";
const COUNT = 5000;

function missingPython(): string | undefined {
  try {
    const { success } = new Deno.Command(PYTHON, {
      args: ["-c", "import grpc, google.protobuf"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return success ? undefined : `missing python3-grpcio and python3-protobuf in ${PYTHON}`;
  } catch {
    return `missing ${PYTHON}`;
  }
}

const skip = missingPython();

function named(name: string): string {
  return skip === undefined ? name : `${name} [skipped: ${skip}]`;
}

async function cli(
  args: string[],
  stdin = "",
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "run", ...args],
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

Deno.test({
  name: named(
    "examples/python: bulkhead run title-cases 5 000 stdin lines in Python, each once, in order",
  ),
  ignore: skip !== undefined,
  async fn() {
    const input = Array.from({ length: COUNT }, (_, i) => `message ${i + 1} from deno`);
    const { code, stdout, stderr } = await cli(
      ["--json", `${ROOT}examples/python/pipeline.yaml`],
      `${input.join("\n")}\n`,
    );
    assert.equal(code, 0, stderr);
    const out = stdout.replace(/\n$/, "").split("\n");
    assert.equal(out.length, COUNT);
    for (let i = 0; i < COUNT; i++) {
      if (out[i] !== `Message ${i + 1} From Deno`) assert.fail(`line ${i + 1} is ${out[i]}`);
    }
    // the output is stdout, so the JSON summary went to stderr, as its last line
    const summary = JSON.parse(stderr.trim().split("\n").at(-1)!);
    assert.equal(summary.status, "completed");
    assert.equal(summary.messagesOut, COUNT);
    assert.equal(summary.stages[0].name, "titlecase");
    assert.equal(summary.stages[0].restarts, 0);
  },
});

Deno.test({
  name: named(
    "examples/python: the processor's metadata reaches the next stage, from a pool of 2 processes",
  ),
  ignore: skip !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "bulkhead-python-test-" });
    try {
      // a Deno stage after the Python one shows the word_count metadata it set
      await Deno.writeTextFile(
        `${dir}/show_count.ts`,
        `import { serveProcessor } from "${new URL("../../plugin.ts", import.meta.url).href}";
await serveProcessor((batch) => {
  for (const m of batch) m.text = \`\${m.text} (\${m.metadata.word_count} words)\`;
});
`,
      );
      await Deno.writeTextFile(
        `${dir}/pipeline.yaml`,
        `
input:
  generate: { count: 3000, message: "one two \${! i }" }
batching: { count: 50 }
max_in_flight: 4
processors:
  - plugin:
      command: ${PYTHON}
      args: [${ROOT}examples/python/processor.py]
      launch: redpanda
      processes: 2
      config: { mode: reverse }
  - plugin: { module: show_count.ts }
output: { file: { path: out.txt } }
`,
      );
      const { code, stderr } = await cli(["--quiet", `${dir}/pipeline.yaml`]);
      assert.equal(code, 0, stderr);
      const out = (await Deno.readTextFile(`${dir}/out.txt`)).replace(/\n$/, "").split("\n");
      const expected = Array.from(
        { length: 3000 },
        (_, i) => `${[...`one two ${i + 1}`].reverse().join("")} (3 words)`,
      );
      assert.deepEqual(out, expected);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: named("examples/python: a configuration the processor refuses stops the run (exit 3)"),
  ignore: skip !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "bulkhead-python-test-" });
    try {
      await Deno.writeTextFile(
        `${dir}/pipeline.yaml`,
        `
input: { generate: { count: 1 } }
processors:
  - plugin:
      command: ${PYTHON}
      args: [${ROOT}examples/python/processor.py]
      launch: redpanda
      config: { mode: shout }
output: drop
`,
      );
      const { code, stderr } = await cli(["--quiet", `${dir}/pipeline.yaml`]);
      assert.equal(code, 3, stderr);
      assert.match(stderr, /refused its configuration: mode must be one of title, reverse/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: named(
    "examples/python: bulkhead run --plugins registers the processor by its manifest (plugins/titlecase.yaml)",
  ),
  ignore: skip !== undefined,
  async fn() {
    const { code, stdout, stderr } = await cli(
      [
        "-q",
        "--plugins",
        `${ROOT}examples/python/plugins/*.yaml`,
        `${ROOT}examples/python/manifest_pipeline.yaml`,
      ],
      "hello big world\nsmall dog\n",
    );
    assert.equal(code, 0, stderr);
    assert.equal(stdout, "Hello Big World\nSmall Dog\n");
    assert.match(stderr, /\[titlecase\] INFO initialised: mode title/, "the manifest's default");

    // a configuration the manifest does not allow stops the run before any plugin starts
    const dir = await Deno.makeTempDir({ prefix: "bulkhead-manifest-test-" });
    try {
      await Deno.writeTextFile(
        `${dir}/bad.yaml`,
        "input: stdin\nprocessors:\n  - titlecase: { mode: [title] }\noutput: stdout\n",
      );
      const bad = await cli([
        "--plugins",
        `${ROOT}examples/python/plugins/*.yaml`,
        `${dir}/bad.yaml`,
      ]);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /bad\.yaml:3: processors\[0\]\.titlecase\.mode: must be a string/);
      assert.doesNotMatch(bad.stderr, /\[titlecase\]/, "the plugin never ran");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: named(
    "examples/python: a pipeline's sha256 pin refuses a changed interpreter before it runs",
  ),
  ignore: skip !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "bulkhead-sha-test-" });
    try {
      const pipeline = (sha: string) =>
        `input: stdin
processors:
  - plugin:
      name: titlecase
      command: ${PYTHON}
      args: [${ROOT}examples/python/processor.py]
      launch: redpanda
      sha256: ${sha}
output: stdout
`;
      const bytes = await crypto.subtle.digest("SHA-256", await Deno.readFile(PYTHON));
      const right = Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0"))
        .join("");
      await Deno.writeTextFile(`${dir}/right.yaml`, pipeline(right));
      await Deno.writeTextFile(`${dir}/wrong.yaml`, pipeline(`"${"0".repeat(64)}"`));
      await Deno.writeTextFile(`${dir}/unquoted.yaml`, pipeline("0".repeat(64)));
      const ok = await cli(["-q", `${dir}/right.yaml`], "pinned run\n");
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, "Pinned Run\n");
      const refused = await cli(["-q", `${dir}/wrong.yaml`], "never\n");
      assert.equal(refused.code, 3, refused.stderr);
      assert.match(refused.stderr, new RegExp(`its SHA-256 is ${right}, not the pinned 0{64}`));
      assert.doesNotMatch(refused.stderr, /\[titlecase\] INFO initialised/, "it never ran");
      const unquoted = await cli(["-q", `${dir}/unquoted.yaml`], "never\n");
      assert.equal(unquoted.code, 2, unquoted.stderr);
      assert.match(
        unquoted.stderr,
        /unquoted\.yaml:8: processors\[0\]\.plugin\.sha256: must be quoted/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
