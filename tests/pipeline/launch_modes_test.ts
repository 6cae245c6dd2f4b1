import assert from "node:assert/strict";
import { runPipeline, type SupervisorEvent } from "../../mod.ts";
import { config, EXAMPLES, lines, tempDir } from "./_pipeline.ts";

Deno.test("runPipeline() runs a processor in both launch modes, with a pool of processes", async (t) => {
  for (const handshake of ["go-plugin", "none"]) {
    await t.step(handshake, async () => {
      await using dir = await tempDir();
      const events: SupervisorEvent[] = [];
      const summary = await runPipeline(
        config(
          `
input:
  generate: { count: 5000, message: "m\${! i }" }
batching: { count: 10 }
max_in_flight: 8
processors:
  - plugin: { module: ${EXAMPLES}uppercase/plugin.ts, handshake: ${handshake}, processes: 2 }
  - plugin:
      module: ${EXAMPLES}crashy/plugin.ts
      handshake: ${handshake}
      permissions: { unsafe_ffi: true }
      config: { every: 999 }
      restart: { max_crashes: 100, initial_delay: 5ms }
output: { file: { path: out.txt } }
`,
          dir.path,
        ),
        { logger: () => {}, onEvent: (e) => events.push(e) },
      );
      assert.equal(summary.status, "completed", summary.error);
      const out = await lines(`${dir.path}/out.txt`);
      assert.deepEqual(out, Array.from({ length: 5000 }, (_, i) => `M${i + 1}`));
      const started = events.filter((e) => e.type === "started").map((e) => e.plugin);
      assert.ok(started.includes("uppercase#0") && started.includes("uppercase#1"));
      assert.ok(events.some((e) => e.type === "crashed" && e.plugin === "crashy"));
      assert.equal(summary.stages[0]!.processes, 2);
      assert.ok(summary.stages[1]!.restarts >= 4);
    });
  }
});

Deno.test("runPipeline() refuses to start when a plugin refuses its configuration", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/picky.ts`,
    `import { serveProcessor } from "${new URL("../../plugin.ts", import.meta.url).href}";
await serveProcessor((b) => b, { init(config) { throw new Error("no thanks: " + JSON.stringify(config)); } });
`,
  );
  // launch: bulkhead | redpanda is the older spelling of handshake: go-plugin | none
  for (const launch of ["bulkhead", "redpanda"]) {
    const error = await runPipeline(
      config(
        `
input: { generate: { count: 1 } }
processors:
  - plugin: { module: picky.ts, launch: ${launch}, config: { colour: blue } }
output: drop
`,
        dir.path,
      ),
      { logger: () => {} },
    ).catch((e) => e);
    assert.match(String(error), /refused its configuration: no thanks: \{"colour":"blue"\}/);
  }
});
