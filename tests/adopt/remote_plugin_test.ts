import assert from "node:assert/strict";
import { Plugin } from "../../mod.ts";
import { FixtureService } from "../../src/gen/bulkhead/testing/v1/fixture_pb.ts";
import { GreeterService } from "../../src/gen/bulkhead/examples/greeter/v1/greeter_pb.ts";
import { serveRepo } from "./_repo_server.ts";

// A plugin file of the user's own, importing the SDK and generated code by
// URL; its greeting is the outcome of importing the module it is asked to.
function localPlugin(url: string): string {
  return `import { serve, service } from "${url}/plugin.ts";
import { GreeterService } from "${url}/src/gen/bulkhead/examples/greeter/v1/greeter_pb.ts";
await serve({
  services: [service(GreeterService, {
    async greet({ name }) {
      try {
        await import(name);
        return { greeting: "imported" };
      } catch (error) {
        return { greeting: \`error: \${error}\` };
      }
    },
  })],
});
`;
}

Deno.test("a local plugin that imports the SDK by URL starts sandboxed and fetches nothing new", async (t) => {
  await using server = serveRepo();
  const cwd = await Deno.makeTempDir({ prefix: "bulkhead-remote-sdk-" });
  try {
    await Deno.writeTextFile(`${cwd}/plugin.ts`, localPlugin(server.url));
    await using plugin = await Plugin.start({ module: `${cwd}/plugin.ts`, cwd, logger: () => {} });
    const tryImport = async (specifier: string) =>
      (await plugin.client(GreeterService).greet({ name: specifier })).greeting;
    assert.ok(plugin.info().sandboxed);
    const served = server.requests.length;

    await t.step("a module of the SDK's host named at run time is not fetched", async () => {
      const secret = `secret-${crypto.randomUUID().slice(0, 8)}`;
      assert.match(await tryImport(`${server.url}/${secret}.ts`), /^error: .*cache/);
      assert.ok(!server.requests.some((path) => path.includes(secret)), "the host was asked");
    });
    await t.step('import("https://<secret>.example/x.ts") is denied', async () => {
      const secret = `secret-${crypto.randomUUID().slice(0, 8)}`;
      assert.match(await tryImport(`https://${secret}.example/x.ts`), /^error: .*import access/);
    });
    await t.step("a default-allowed host (esm.sh) is denied", async () => {
      assert.match(await tryImport("https://esm.sh/left-pad"), /^error: .*import access/);
    });
    await t.step("an npm package named at run time is denied", async () => {
      const name = `bulkhead-exfil-${crypto.randomUUID().slice(0, 8)}`;
      assert.match(await tryImport(`npm:${name}`), /^error:/);
    });
    await t.step("nothing was fetched after its start", () => {
      assert.deepEqual(server.requests.slice(served), []);
    });
    assert.equal(await plugin.health(), "SERVING");
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

// The fixture plugin, served over http: its whole module graph (SDK,
// transport, generated code) is remote, as for a plugin that imports
// Bulkhead by URL. It runs in an empty directory (no deno.json).
Deno.test("a plugin whose graph is remote starts sandboxed and still fetches nothing new", async (t) => {
  await using server = serveRepo();
  const cwd = await Deno.makeTempDir({ prefix: "bulkhead-remote-" });
  try {
    await using plugin = await Plugin.start({
      module: `${server.url}/tests/fixtures/fixture_plugin.ts`,
      args: ["ok"],
      cwd,
      logger: () => {},
    });
    const act = async (action: string) =>
      (await plugin.client(FixtureService).act({ action })).result;
    assert.ok(plugin.info().sandboxed);
    const host = new URL(server.url).host;
    assert.ok(plugin.info().permissionFlags.length > 0);
    const served = server.requests.length;

    await t.step("a module of the same host named at run time is not fetched", async () => {
      const secret = `secret-${crypto.randomUUID().slice(0, 8)}`;
      assert.match(await act(`import:${server.url}/${secret}.ts`), /^error:/);
      assert.ok(!server.requests.some((path) => path.includes(secret)), "the host was asked");
    });
    await t.step("a module of another host is denied", async () => {
      const secret = `secret-${crypto.randomUUID().slice(0, 8)}`;
      assert.match(await act(`import:https://${secret}.example/x.ts`), /^error:/);
    });
    await t.step("an npm package named at run time is denied", async () => {
      const name = `bulkhead-exfil-${crypto.randomUUID().slice(0, 8)}`;
      assert.match(await act(`import:npm:${name}`), /^error:/);
    });
    await t.step("no file is read outside its grants", async () => {
      assert.equal(await act("read:/etc/hostname"), "error:NotCapable");
    });
    await t.step("nothing was fetched after its start", () => {
      assert.deepEqual(server.requests.slice(served), []);
      assert.ok(host.startsWith("127.0.0.1:"));
    });
    assert.equal(await plugin.health(), "SERVING");
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
