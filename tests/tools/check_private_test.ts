import assert from "node:assert/strict";
import { privateImportViolations } from "../../tools/check_private.ts";

Deno.test("privateImportViolations() lists imports of another folder's _ file, and only those", async () => {
  const root = await Deno.makeTempDir();
  try {
    // the import lines are built here, so this file itself imports nothing private
    const from = (names: string, spec: string) => `import ${names} from "${spec}";\n`;
    const reexport = (spec: string) => `export { x } from "${spec}";\n`;
    const dynamic = (spec: string) => `await import("${spec}");\n`;
    const write = async (path: string, text: string) => {
      await Deno.mkdir(`${root}/${path.replace(/\/[^/]+$/, "")}`, { recursive: true });
      await Deno.writeTextFile(`${root}/${path}`, text);
    };
    await write("src/host/_private.ts", "export const x = 1;\n");
    await write("src/host/ok.ts", from("{ x }", "./_private.ts"));
    await write("src/host/deep/ok.ts", reexport("../_private.ts"));
    await write("src/pipeline/bad.ts", from("type { x }", "../host/_private.ts"));
    await write("tests/host/mirror_test.ts", from("{ x }", "../../src/host/_private.ts"));
    await write("tests/cli/bad_test.ts", dynamic("../../src/host/_private.ts"));
    await write("tests/_helpers.ts", "export const y = 2;\n");
    await write("tests/cli/helper_test.ts", from("{ y }", "../_helpers.ts"));
    await write("bench/bad.ts", from("{ y }", "../tests/_helpers.ts"));
    assert.deepEqual(await privateImportViolations(root), [
      "bench/bad.ts: imports tests/_helpers.ts",
      "src/pipeline/bad.ts: imports src/host/_private.ts",
      "tests/cli/bad_test.ts: imports src/host/_private.ts",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
