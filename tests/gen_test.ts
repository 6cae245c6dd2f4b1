import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { generate } from "../tools/gen.ts";

const root = new URL("..", import.meta.url).pathname;

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) files.push(...await listFiles(path, base));
    else files.push(relative(base, path));
  }
  return files.sort();
}

Deno.test("src/gen is what `deno task gen` makes from proto/", async () => {
  const out = await Deno.makeTempDir({ prefix: "bulkhead-gen-" });
  try {
    await generate(out);
    const fresh = join(out, "src/gen");
    const committed = join(root, "src/gen");
    assert.deepEqual(await listFiles(fresh), await listFiles(committed), "file lists differ");
    for (const file of await listFiles(fresh)) {
      assert.equal(
        await Deno.readTextFile(join(committed, file)),
        await Deno.readTextFile(join(fresh, file)),
        `src/gen/${file} drifted from proto/: run \`deno task gen\``,
      );
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
