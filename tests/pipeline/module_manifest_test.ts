import assert from "node:assert/strict";
import { readModuleManifest } from "../../src/pipeline/module_manifest.ts";

const PLUGIN_TS = new URL("../../plugin.ts", import.meta.url).href;
const CLI = new URL("../../cli.ts", import.meta.url).pathname;

Deno.test("bulkhead plugins manifest prints the manifest a Deno processor declares in code", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bulkhead-manifest-" });
  try {
    await Deno.writeTextFile(
      `${dir}/plugin.ts`,
      `import { serveProcessor } from "${PLUGIN_TS}";
await serveProcessor((batch) => batch, {
  manifest: {
    name: "fizzbuzz",
    summary: "Fizz and buzz",
    fields: [{ name: "n", type: "int", description: "up to" }, { name: "loud", type: "bool", default: false }],
  },
});
`,
    );
    const { manifest, yaml } = await readModuleManifest(`${dir}/plugin.ts`);
    assert.equal(manifest.name, "fizzbuzz");
    assert.equal(manifest.type, "processor");
    assert.equal(manifest.cwd, dir);
    assert.deepEqual(manifest.fields.map((f) => [f.name, f.type, f.default]), [
      ["n", "int", undefined],
      ["loud", "bool", false],
    ]);
    assert.equal(manifest.command.at(-1), "plugin.ts");

    const { code, stdout } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "plugins", "manifest", "--", `${dir}/plugin.ts`],
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assert.equal(code, 0);
    assert.equal(new TextDecoder().decode(stdout), yaml);
    assert.match(yaml, /^name: fizzbuzz$/m);

    // one without a manifest says so
    await Deno.writeTextFile(
      `${dir}/bare.ts`,
      `import { serveProcessor } from "${PLUGIN_TS}";\nawait serveProcessor((batch) => batch);\n`,
    );
    await assert.rejects(readModuleManifest(`${dir}/bare.ts`), /declares no manifest/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
