import assert from "node:assert/strict";
import { privateImportViolations } from "../../tools/check_private.ts";

Deno.test("privateImportViolations() lists imports of another folder's _ file, and only those", async () => {
  const root = await Deno.makeTempDir();
  try {
    const write = async (path: string, text: string) => {
      await Deno.mkdir(`${root}/${path.replace(/\/[^/]+$/, "")}`, { recursive: true });
      await Deno.writeTextFile(`${root}/${path}`, text);
    };
    await write("src/host/_private.ts", "export const x = 1;\n");
    await write("src/host/ok.ts", 'import { x } from "./_private.ts";\n');
    await write("src/host/deep/ok.ts", 'export { x } from "../_private.ts";\n');
    await write("src/pipeline/bad.ts", 'import type { x } from "../host/_private.ts";\n');
    await write("tests/host/mirror_test.ts", 'import { x } from "../../src/host/_private.ts";\n');
    await write("tests/cli/bad_test.ts", 'await import("../../src/host/_private.ts");\n');
    await write("tests/_helpers.ts", "export const y = 2;\n");
    await write("tests/cli/helper_test.ts", 'import { y } from "../_helpers.ts";\n');
    await write("bench/bad.ts", 'import { y } from "../tests/_helpers.ts";\n');
    assert.deepEqual(await privateImportViolations(root), [
      "bench/bad.ts: imports tests/_helpers.ts",
      "src/pipeline/bad.ts: imports src/host/_private.ts",
      "tests/cli/bad_test.ts: imports src/host/_private.ts",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
