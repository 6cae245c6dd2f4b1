/**
 * Attacks through the module graph: Deno loads a module's static graph (and
 * literal dynamic imports) without read checks, so a plugin that imports a
 * file as text, JSON, bytes or code would read it past the sandbox. The
 * host must refuse to start such a plugin, naming the file and its
 * importer, and start it when the module root is widened or the file is
 * granted. Fixtures: `fixtures/graph_*` (their decoy secrets are in
 * `fixtures/graph_outside/`); the absolute-path cases are written here,
 * next to a secret in a fresh temporary directory.
 */
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ModuleGraphError,
  Plugin,
  type PluginOptions,
  Supervisor,
  type SupervisorEvent,
} from "../../mod.ts";
import { GreeterService } from "../../src/gen/bulkhead/examples/greeter/v1/greeter_pb.ts";
import { listModuleGraph } from "../../src/host/module_graph.ts";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url)).replace(/\/$/, "");
const OUTSIDE = `${FIXTURES}/graph_outside`;
const SDK = new URL("../../plugin.ts", import.meta.url).href;
const GREETER_PB = new URL(
  "../../src/gen/bulkhead/examples/greeter/v1/greeter_pb.ts",
  import.meta.url,
).href;
const FIXTURE_SECRET = "fixture secret: outside every plugin root";

/** A plugin module that imports `importLines` and answers Greet with `answer`. */
function readerPlugin(importLines: string, answer: string): string {
  return `${importLines}
import { serve, service } from ${JSON.stringify(SDK)};
import { GreeterService } from ${JSON.stringify(GREETER_PB)};
await serve({
  services: [service(GreeterService, { greet: () => ({ greeting: String(${answer}) }) })],
});
`;
}

/** A temporary tree: `plugin/` (the plugin's own directory) and `secret/secret.txt` beside it. */
async function withSecret<T>(
  fn: (dir: { plugin: string; secret: string; root: string }) => Promise<T>,
): Promise<T> {
  const root = await Deno.makeTempDir({ prefix: "bulkhead-graph-" });
  try {
    await Deno.mkdir(`${root}/plugin`);
    await Deno.mkdir(`${root}/secret`);
    const secret = `${root}/secret/secret.txt`;
    await Deno.writeTextFile(secret, `temp secret ${crypto.randomUUID()}`);
    return await fn({ plugin: `${root}/plugin`, secret, root });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function start(module: string, extra: Partial<PluginOptions> = {}): Promise<Plugin> {
  return Plugin.start({ module, logger: () => {}, stopGraceMs: 1000, ...extra });
}

/** Starts a plugin, asks Greet once (the fixtures answer with what they read), stops it. */
async function greet(module: string, extra: Partial<PluginOptions> = {}): Promise<string> {
  await using plugin = await start(module, extra);
  return (await plugin.client(GreeterService).greet({ name: "" })).greeting;
}

async function assertRefused(
  module: string,
  expected: { file: string; importer: string; realPath?: string },
  extra: Partial<PluginOptions> = {},
): Promise<ModuleGraphError> {
  let error: unknown;
  try {
    await using _plugin = await start(module, extra);
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof ModuleGraphError, `expected a ModuleGraphError, got ${error}`);
  assert.equal(error.file, expected.file);
  assert.equal(error.importer, expected.importer);
  assert.equal(error.realPath, expected.realPath ?? expected.file);
  assert.equal(error.moduleRoot, dirname(module));
  assert.ok(error.message.includes(expected.file), error.message);
  assert.ok(error.message.includes(expected.importer), error.message);
  assert.match(error.message, /widen `moduleRoot` to .*, or grant `permissions\.read: \[/);
  return error;
}

Deno.test("Deno itself loads a text import outside the sandbox without --allow-read (why the host checks)", async () => {
  await withSecret(async ({ plugin, secret }) => {
    const module = `${plugin}/leak.ts`;
    await Deno.writeTextFile(
      module,
      `import s from ${JSON.stringify(secret)} with { type: "text" };\nconsole.log(s);\n`,
    );
    const { stdout, success } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--no-remote", module],
      stdout: "piped",
      stderr: "null",
    }).output();
    assert.equal(success, true);
    assert.equal(new TextDecoder().decode(stdout).trim(), await Deno.readTextFile(secret));
  });
});

Deno.test("a plugin whose module graph imports a file outside its root is refused at start", async (t) => {
  await t.step("a text import of an absolute path", async () => {
    await withSecret(async ({ plugin, secret }) => {
      const module = `${plugin}/plugin.ts`;
      await Deno.writeTextFile(
        module,
        readerPlugin(
          `import secret from ${JSON.stringify(secret)} with { type: "text" };`,
          "secret",
        ),
      );
      await assertRefused(module, { file: secret, importer: module });
    });
  });

  await t.step("a literal dynamic import of a file: URL", async () => {
    await withSecret(async ({ plugin, secret }) => {
      const module = `${plugin}/plugin.ts`;
      const url = new URL(`file://${secret}`).href;
      await Deno.writeTextFile(
        module,
        readerPlugin(
          `const loaded = await import(${JSON.stringify(url)}, { with: { type: "text" } });`,
          "loaded.default",
        ),
      );
      await assertRefused(module, { file: secret, importer: module });
    });
  });

  await t.step("a bare specifier that the deno.json beside it maps to a file outside", async () => {
    await withSecret(async ({ plugin, secret, root }) => {
      const module = `${plugin}/plugin.ts`;
      await Deno.writeTextFile(
        `${root}/deno.json`,
        JSON.stringify({ imports: { loot: new URL(`file://${secret}`).href } }),
      );
      await Deno.writeTextFile(
        module,
        readerPlugin(`import secret from "loot" with { type: "text" };`, "secret"),
      );
      await assertRefused(module, { file: secret, importer: module }, { cwd: root });
    });
  });

  await t.step("a JSON import", async () => {
    const module = `${FIXTURES}/graph_json/plugin.ts`;
    await assertRefused(module, { file: `${OUTSIDE}/secret.json`, importer: module });
  });

  await t.step("a relative ../.. import", async () => {
    const module = `${FIXTURES}/graph_relative/nested/plugin.ts`;
    await assertRefused(module, { file: `${OUTSIDE}/secret.txt`, importer: module });
  });

  await t.step("a symlink inside the root that points outside", async () => {
    const module = `${FIXTURES}/graph_symlink/plugin.ts`;
    await assertRefused(module, {
      file: `${FIXTURES}/graph_symlink/loot.txt`,
      realPath: `${OUTSIDE}/secret.txt`,
      importer: module,
    });
  });

  await t.step("a TypeScript module outside the root", async () => {
    const module = `${FIXTURES}/graph_module/plugin.ts`;
    const error = await assertRefused(module, {
      file: `${OUTSIDE}/outside.ts`,
      importer: module,
    });
    assert.ok(error.message.includes(`widen \`moduleRoot\` to ${FIXTURES},`), error.message);
  });
});

Deno.test("the same imports start when the module root is widened or the file is granted", async (t) => {
  await t.step("moduleRoot widened (relative to cwd)", async () => {
    const reply = await greet(`${FIXTURES}/graph_json/plugin.ts`, {
      moduleRoot: "..",
      cwd: `${FIXTURES}/graph_json`,
    });
    assert.deepEqual(JSON.parse(reply), { secret: FIXTURE_SECRET });
    assert.equal(
      await greet(`${FIXTURES}/graph_module/plugin.ts`, { moduleRoot: FIXTURES }),
      FIXTURE_SECRET,
    );
    assert.equal(
      (await greet(`${FIXTURES}/graph_relative/nested/plugin.ts`, { moduleRoot: FIXTURES })).trim(),
      FIXTURE_SECRET,
    );
  });

  await t.step("the file in a read grant", async () => {
    await withSecret(async ({ plugin, secret }) => {
      const module = `${plugin}/plugin.ts`;
      await Deno.writeTextFile(
        module,
        readerPlugin(
          `import secret from ${JSON.stringify(secret)} with { type: "text" };`,
          "secret",
        ),
      );
      assert.equal(
        await greet(module, { permissions: { read: [dirname(secret)] } }),
        await Deno.readTextFile(secret),
      );
      assert.equal(
        await greet(module, { denoFlags: [`--allow-read=${secret}`] }),
        await Deno.readTextFile(secret),
        "an --allow-read among denoFlags is a read grant too",
      );
    });
  });

  await t.step("an import of types alone (deno run does not load it)", async () => {
    await withSecret(async ({ plugin, root }) => {
      const module = `${plugin}/plugin.ts`;
      await Deno.writeTextFile(`${root}/secret/types.ts`, "export type Loot = string;\n");
      await Deno.writeTextFile(
        module,
        readerPlugin(
          `import type { Loot } from "../secret/types.ts";\nconst loot: Loot = "types only";`,
          "loot",
        ),
      );
      assert.equal(await greet(module), "types only");
    });
  });

  await t.step("a symlink's target in a read grant", async () => {
    const reply = await greet(`${FIXTURES}/graph_symlink/plugin.ts`, {
      permissions: { read: [`${OUTSIDE}/secret.txt`] },
    });
    assert.equal(reply.trim(), FIXTURE_SECRET);
  });

  await t.step("the module root is in the plugin's info", async () => {
    await using plugin = await start(`${FIXTURES}/graph_module/plugin.ts`, {
      moduleRoot: FIXTURES,
    });
    assert.equal(plugin.info().moduleRoot, FIXTURES);
  });
});

Deno.test("a dynamic import computed at run time is not in the graph: Deno denies it without a grant", async () => {
  await withSecret(async ({ secret }) => {
    const module = `${FIXTURES}/graph_computed/plugin.ts`;
    {
      await using plugin = await start(module);
      const { greeting } = await plugin.client(GreeterService).greet({ name: secret });
      assert.match(greeting, /^denied: .*Requires read access/);
      assert.ok(!greeting.includes(await Deno.readTextFile(secret)));
    }
    {
      await using plugin = await start(module, { permissions: { read: [secret] } });
      const { greeting } = await plugin.client(GreeterService).greet({ name: secret });
      assert.equal(greeting, await Deno.readTextFile(secret));
    }
  });
});

Deno.test("listModuleGraph() reuses a listing until a listed file changes", async () => {
  await withSecret(async ({ plugin, secret }) => {
    const module = new URL(`file://${plugin}/plugin.ts`).href;
    const helper = `${plugin}/helper.ts`;
    await Deno.writeTextFile(helper, `export const x = 1;\n`);
    await Deno.writeTextFile(`${plugin}/plugin.ts`, `import { x } from "./helper.ts";\nx;\n`);
    // A listing is reused only for files that last changed over a second
    // before it was made (ctime has whole seconds): wait until that holds.
    const changed = Math.max(
      ...(await Promise.all([helper, `${plugin}/plugin.ts`].map((p) => Deno.stat(p)))).map((s) =>
        Math.max(s.mtime!.getTime(), s.ctime!.getTime())
      ),
    );
    while (Date.now() <= changed + 1100) await new Promise((r) => setTimeout(r, 100));

    const first = await listModuleGraph(module);
    assert.deepEqual(first.map((f) => f.path).sort(), [helper, `${plugin}/plugin.ts`].sort());
    assert.equal(await listModuleGraph(module), first, "the unchanged graph was listed again");

    await Deno.writeTextFile(
      helper,
      `import s from ${JSON.stringify(secret)} with { type: "text" };\nexport const x = s;\n`,
    );
    const again = await listModuleGraph(module);
    assert.notEqual(again, first);
    const leak = again.find((f) => f.path === secret);
    assert.equal(leak?.importer, new URL(`file://${helper}`).href);
  });
});

Deno.test("a plugin that rewrites its own code to import a secret is refused at its restart", async () => {
  await withSecret(async ({ plugin, secret }) => {
    const module = `${plugin}/plugin.ts`;
    const hostile = readerPlugin(
      `import secret from ${JSON.stringify(secret)} with { type: "text" };`,
      "secret",
    );
    // Granted write on its own folder, it puts the import in and crashes to be restarted.
    await Deno.writeTextFile(
      module,
      readerPlugin(
        "",
        `(Deno.writeTextFileSync(${JSON.stringify(module)}, ${
          JSON.stringify(hostile)
        }), Deno.exit(1))`,
      ),
    );
    const events: SupervisorEvent[] = [];
    let refused: (event: SupervisorEvent) => void = () => {};
    const restartFailed = new Promise<SupervisorEvent>((resolve) => refused = resolve);
    await using supervisor = await Supervisor.start({
      plugin: { module, permissions: { write: [plugin] }, logger: () => {} },
      restart: { initialDelayMs: 10, maxDelayMs: 50, maxCrashes: 3, windowMs: 60_000 },
      healthIntervalMs: 0,
      onEvent: (event) => {
        events.push(event);
        // a supervisor that gives up instead ends the wait too, and fails the test below
        if (event.type === "restart-failed" || event.type === "failed") refused(event);
      },
    });
    await supervisor.client(GreeterService).greet({ name: "" }).catch(() => {});
    const event = await restartFailed;
    assert.ok(event.type === "restart-failed", JSON.stringify(event));
    assert.match(
      event.error,
      /it imports \S+\/secret\/secret\.txt \(from \S+\/plugin\/plugin\.ts\)/,
    );
    assert.ok(!events.some((e) => e.type === "started" && e.restarts > 0), "it never ran again");
  });
});
