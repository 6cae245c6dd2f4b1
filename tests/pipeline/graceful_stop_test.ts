import assert from "node:assert/strict";
import { waitFor } from "../_helpers.ts";
import { EXAMPLES, lines, tempDir } from "./_pipeline.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

Deno.test("bulkhead run drains the batches in flight on SIGTERM: everything read is written, once", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/pipeline.yaml`,
    `
input:
  generate: { rate: 5000, message: "m\${! i }" }
batching: { count: 50, period: 20ms }
max_in_flight: 4
processors:
  - plugin: { module: ${EXAMPLES}uppercase/plugin.ts, processes: 2 }
output: { file: { path: out.txt } }
`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "run", "--json", `${dir.path}/pipeline.yaml`],
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  const started = await waitFor(() => {
    try {
      return Deno.statSync(`${dir.path}/out.txt`).size > 1000;
    } catch {
      return false;
    }
  }, 30_000);
  child.kill("SIGTERM");
  const { code, stdout, stderr } = await output;
  assert.ok(started, "the pipeline never wrote");
  assert.equal(code, 130, new TextDecoder().decode(stderr));
  const summary = JSON.parse(new TextDecoder().decode(stdout));
  assert.equal(summary.status, "stopped");
  const out = await lines(`${dir.path}/out.txt`);
  assert.ok(out.length > 0);
  assert.equal(out.length, summary.messagesOut);
  assert.equal(summary.messagesIn, summary.messagesOut, "read but not written");
  out.forEach((line, i) => {
    if (line !== `M${i + 1}`) assert.fail(`line ${i + 1} is ${line}`);
  });
});
