/**
 * The committed Go and Python code generated from `proto/` matches what
 * `examples/kv-go/gen.sh`, `examples/kv-python/gen.sh`, `examples/python/gen.sh` and
 * `tests/interop/broker_plugin/gen.sh` make from
 * it now.
 *
 * @module
 */
import assert from "node:assert/strict";
import { named, noProtoc, ROOT, run } from "./_toolchains.ts";

function filesUnder(dir: string, prefix = ""): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of Deno.readDirSync(dir)) {
    const rel = `${prefix}${entry.name}`;
    if (entry.isDirectory) {
      if (entry.name === "__pycache__") continue;
      for (const [k, v] of filesUnder(`${dir}/${entry.name}`, `${rel}/`)) files.set(k, v);
    } else files.set(rel, Deno.readTextFileSync(`${dir}/${entry.name}`));
  }
  return files;
}

for (
  const [example, committed] of [
    ["examples/kv-go", "kvpb"],
    ["examples/kv-python", "gen"],
    ["examples/python", "gen"],
    ["tests/interop/broker_plugin", "callbackpb"],
  ] as const
) {
  Deno.test({
    name: named(`${example}/${committed} is up to date with proto/ (gen.sh)`, noProtoc),
    ignore: noProtoc !== undefined,
    async fn() {
      const out = await Deno.makeTempDir({ prefix: "bulkhead-gen-" });
      try {
        const result = await run("sh", [`${ROOT}/${example}/gen.sh`, out]);
        assert.equal(result.code, 0, result.stderr);
        const fresh = filesUnder(out);
        const current = filesUnder(`${ROOT}/${example}/${committed}`);
        assert.deepEqual(
          [...current.keys()].sort(),
          [...fresh.keys()].sort(),
          `run ${example}/gen.sh`,
        );
        for (const [path, text] of fresh) {
          assert.ok(current.get(path) === text, `${path} is stale: run ${example}/gen.sh`);
        }
      } finally {
        await Deno.remove(out, { recursive: true });
      }
    },
  });
}
