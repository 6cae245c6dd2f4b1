import assert from "node:assert/strict";
import type { UpgradeResult } from "../../mod.ts";
import {
  StageReloads,
  type StageUpgradeOptions,
  type UpgradableStage,
} from "../../src/pipeline/reload.ts";
import { watchPluginFiles } from "../../src/pipeline/plugin_watch.ts";
import { config, tempDir } from "./_pipeline.ts";

/** An in-process stage whose upgrades wait until the test lets them end (the queue's logic only). */
function gatedStage(name: string) {
  const started: { options: StageUpgradeOptions; finish: () => void }[] = [];
  const stage: UpgradableStage = {
    name,
    process: (messages) => Promise.resolve({ messages, dead: [] }),
    stats: () => ({ name } as ReturnType<UpgradableStage["stats"]>),
    stop: () => Promise.resolve(),
    upgrade: (options = {}) =>
      new Promise<UpgradeResult>((resolve, reject) => {
        options.signal?.addEventListener("abort", () => reject(options.signal!.reason), {
          once: true,
        });
        started.push({
          options,
          finish: () =>
            resolve({
              plugin: name,
              oldPids: [],
              newPids: [],
              switchMs: 0,
              drainMs: 0,
              drained: 0,
              cut: 0,
            }),
        });
      }),
  };
  return { stage, started };
}

Deno.test("StageReloads: a reload asked for during one runs once after it; those asked for meanwhile join it", async () => {
  const { stage, started } = gatedStage("upper");
  const reloads = new StageReloads([stage]);
  const first = reloads.reload();
  const second = reloads.reload();
  const third = reloads.reload({ stages: ["upper"] });
  await Promise.resolve();
  assert.equal(started.length, 1);
  started[0]!.finish();
  assert.equal((await first)[0]!.status, "upgraded");
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(started.length, 2);
  started[1]!.finish();
  assert.deepEqual((await second).map((r) => r.status), ["upgraded"]);
  assert.equal((await third)[0], (await second)[0]);
  assert.equal(started.length, 2);
  const unknown = await reloads.reload({ stages: ["nope"] });
  assert.equal(unknown[0]!.status, "failed");
  await reloads.close();
});

Deno.test("StageReloads.close() abandons a reload under way", async () => {
  const { stage, started } = gatedStage("upper");
  const reloads = new StageReloads([stage]);
  const pending = reloads.reload();
  await Promise.resolve();
  assert.equal(started.length, 1);
  await reloads.close();
  const [result] = await pending;
  assert.equal(result!.status, "failed");
});

Deno.test("watchPluginFiles() reloads the stage whose plugin file changed, and no other", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/a.ts`, "// a\n");
  await Deno.writeTextFile(`${dir.path}/b.ts`, "// b\n");
  const parsed = config(
    `
input: stdin
processors:
  - plugin: { module: ./a.ts }
  - plugin: { module: ./b.ts }
output: stdout
`,
    dir.path,
  );
  const asked: string[][] = [];
  const changed: string[] = [];
  await using watch = watchPluginFiles(parsed, {
    reload: (options = {}) => {
      asked.push([...options.stages ?? []]);
      return Promise.resolve([]);
    },
  }, { debounceMs: 200, onChange: (stage) => changed.push(stage) });
  assert.equal(watch.files.size, 2);
  const [stageA] = [...watch.files.keys()];
  for (let i = 0; i < 5; i++) await Deno.writeTextFile(`${dir.path}/a.ts`, `// a ${i}\n`);
  await Deno.writeTextFile(`${dir.path}/unrelated.txt`, "x");
  const deadline = Date.now() + 60_000;
  while (asked.length === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(asked.length >= 1);
  assert.ok(asked.every((stages) => stages.length === 1 && stages[0] === stageA), `${asked}`);
  assert.ok(changed.every((stage) => stage === stageA));
});
