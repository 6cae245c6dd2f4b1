import assert from "node:assert/strict";
import { ChecksumMismatchError, Plugin, pluginChecksum } from "../../mod.ts";
import { KV_COOKIE } from "../../examples/kv-deno/cookie.ts";
import { exists } from "../_helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const KV_PYTHON = `${ROOT}examples/kv-python/kv_plugin.py`;

/** An executable plugin that leaves a marker file when it runs at all. */
async function markingPlugin(dir: string): Promise<{ command: string; marker: string }> {
  const command = `${dir}/kv-plugin`;
  const marker = `${dir}/ran`;
  await Deno.writeTextFile(
    command,
    `#!/bin/sh\n: > "${marker}"\nexec /usr/bin/python3 "${KV_PYTHON}"\n`,
  );
  await Deno.chmod(command, 0o755);
  return { command, marker };
}

Deno.test("Plugin.start() runs an executable with its pinned sha256 and refuses another before spawning it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { command, marker } = await markingPlugin(dir);
    const { sha256 } = await pluginChecksum({ command });
    const bytes = new Uint8Array(
      await crypto.subtle.digest("SHA-256", await Deno.readFile(command)),
    );
    assert.equal(sha256, Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""));

    const wrong = sha256.replace(/^./, (c) => (c === "0" ? "1" : "0"));
    const error = await Plugin.start({
      command,
      sha256: wrong,
      cookie: KV_COOKIE,
      // its sandbox lets it leave the marker and run the Python plugin it wraps
      permissions: { write: [dir], read: [`${ROOT}examples/kv-python`] },
      logger: () => {},
    })
      .then(() => undefined, (e) => e);
    assert.ok(error instanceof ChecksumMismatchError, String(error));
    assert.equal(error.expected, wrong);
    assert.equal(error.actual, sha256);
    assert.equal(error.target, command);
    assert.equal(error.plugin, "kv-plugin");
    assert.equal(exists(marker), false, "the refused executable ran");

    // upper case is the same hash
    await using plugin = await Plugin.start({
      command,
      sha256: sha256.toUpperCase(),
      cookie: KV_COOKIE,
      permissions: { write: [dir], read: [`${ROOT}examples/kv-python`] },
      logger: () => {},
    });
    assert.equal(await plugin.health(), "SERVING");
    assert.equal(exists(marker), true);
    await plugin.stop();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Plugin.start() refuses a Deno plugin whose dependency changed since it was pinned", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/dep.ts`, `export const greeting = "one";\n`);
    await Deno.writeTextFile(
      `${dir}/plugin.ts`,
      `import { serve } from "${new URL("plugin.ts", `file://${ROOT}`).href}";\n` +
        `import { greeting } from "./dep.ts";\n` +
        `console.error(greeting);\n` +
        `await serve({ services: [] });\n`,
    );
    const module = `${dir}/plugin.ts`;
    const pinned = await pluginChecksum({ module });
    assert.match(pinned.sha256, /^[0-9a-f]{64}$/);
    assert.equal((await pluginChecksum({ module })).sha256, pinned.sha256, "stable");

    {
      await using plugin = await Plugin.start({ module, sha256: pinned.sha256, logger: () => {} });
      assert.equal(await plugin.health(), "SERVING");
      await plugin.stop();
    }

    await Deno.writeTextFile(`${dir}/dep.ts`, `export const greeting = "two";\n`);
    const lines: string[] = [];
    const error = await Plugin.start({
      module,
      sha256: pinned.sha256,
      logger: (r) => lines.push(r.message),
    }).then(() => undefined, (e) => e);
    assert.ok(error instanceof ChecksumMismatchError, String(error));
    assert.equal(error.expected, pinned.sha256);
    assert.notEqual(error.actual, pinned.sha256);
    assert.equal(error.actual, (await pluginChecksum({ module })).sha256);
    assert.deepEqual(lines, [], "the refused plugin printed nothing: it did not run");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pluginChecksum() of a module graph does not depend on where its folder is", async () => {
  const a = await Deno.makeTempDir();
  const b = await Deno.makeTempDir();
  try {
    for (const dir of [a, b]) {
      await Deno.writeTextFile(`${dir}/dep.ts`, `export const x = 1;\n`);
      await Deno.writeTextFile(
        `${dir}/plugin.ts`,
        `import { x } from "./dep.ts";\nconsole.log(x);\n`,
      );
    }
    assert.equal(
      (await pluginChecksum({ module: `${a}/plugin.ts` })).sha256,
      (await pluginChecksum({ module: `${b}/plugin.ts` })).sha256,
    );
  } finally {
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});
