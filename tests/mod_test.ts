import assert from "node:assert/strict";

const root = new URL("..", import.meta.url);

Deno.test("mod.ts imports without deno.json, as it would from a URL", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bulkhead-url-" });
  try {
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      `import { Plugin, serve, HandshakeError } from "${new URL("mod.ts", root).href}";\n` +
        `console.log(typeof Plugin.start, typeof serve, typeof HandshakeError);\n`,
    );
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--no-lock", "-A", "main.ts"],
      cwd: dir,
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    assert.equal(new TextDecoder().decode(stdout).trim(), "function function function");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every npm import is pinned in src/npm/, at one version per package", async () => {
  const versions = new Map<string, Set<string>>();
  const offenders: string[] = [];
  const walk = async (dir: URL) => {
    for await (const entry of Deno.readDir(dir)) {
      const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
      if (entry.isDirectory) {
        if (!["node_modules", ".tools", ".git"].includes(entry.name)) await walk(url);
        continue;
      }
      if (!entry.name.endsWith(".ts")) continue;
      const text = await Deno.readTextFile(url);
      const rel = url.href.slice(root.href.length);
      for (
        const m of text.matchAll(/^(?:import|export)[^;]*?from "npm:(@?[^@"]+)@([^/"]+)[^"]*"/gm)
      ) {
        if (!rel.startsWith("src/npm/")) offenders.push(rel);
        const set = versions.get(m[1]!) ?? new Set();
        set.add(m[2]!);
        versions.set(m[1]!, set);
      }
      if (/^(?:import|export)[^;]*?from "@(?:bufbuild|connectrpc)/m.test(text)) offenders.push(rel);
    }
  };
  await walk(new URL("src/", root));
  await walk(new URL("tests/", root));
  await walk(new URL("examples/", root));
  assert.deepEqual(offenders, [], "npm imports outside src/npm/");
  for (const [pkg, set] of versions) {
    assert.equal(set.size, 1, `${pkg} pinned at several versions: ${[...set]}`);
    assert.match([...set][0]!, /^\d+\.\d+\.\d+$/, `${pkg} is not pinned exactly`);
  }
});

Deno.test("plugin.ts, the SDK, loads none of the host, the pipeline runner or YAML", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("plugin.ts", root).href],
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const info = JSON.parse(new TextDecoder().decode(stdout)) as { modules: { specifier: string }[] };
  const local = info.modules.map((m) => m.specifier.replace(root.href, ""));
  // every npm package comes through src/npm/ (see the test above), so yaml only via src/npm/yaml.ts
  const heavy = local.filter((s) =>
    /^(src\/(host|pipeline|cli)\/|src\/npm\/yaml\.ts|mod\.ts|cli\.ts)/.test(s)
  );
  assert.deepEqual(heavy, [], "the SDK's module graph reaches the host side");
  assert.ok(local.includes("src/plugin/serve.ts"));
});
