import assert from "node:assert/strict";
import { Plugin, PluginExitedError } from "../../mod.ts";
import { Code, ConnectError } from "../../src/npm/connect.ts";
import { GreeterService } from "../../src/gen/bulkhead/examples/greeter/v1/greeter_pb.ts";
import { KvService } from "../../src/gen/bulkhead/examples/kv/v1/kv_pb.ts";

const VERSIONED = new URL("../fixtures/versioned_plugin.ts", import.meta.url);

function startVersioned(mode: string, protocolVersions: number[]) {
  return Plugin.start({ module: VERSIONED, args: [mode], protocolVersions, logger: () => {} });
}

async function codeOf(call: Promise<unknown>): Promise<Code | undefined> {
  try {
    await call;
    return undefined;
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

Deno.test("serve({ versions }) serves the set of the highest version the host also offers", async (t) => {
  await t.step("a v1-only plugin under a v1,v2 host: version 1, its services", async () => {
    await using plugin = await startVersioned("v1-only", [1, 2]);
    assert.equal(plugin.handshake.appVersion, 1);
    const { greeting } = await plugin.client(GreeterService).greet({ name: "Ada" });
    assert.equal(greeting, "v1 Ada");
  });
  await t.step(
    "a v1,v2 plugin under a v1,v2 host: version 2, only version 2's services",
    async () => {
      await using plugin = await startVersioned("v1v2", [1, 2]);
      assert.equal(plugin.handshake.appVersion, 2);
      const kv = plugin.client(KvService);
      await kv.put({ key: "k", value: "v" });
      assert.equal((await kv.get({ key: "k" })).value, "v");
      assert.equal(
        await codeOf(plugin.client(GreeterService).greet({ name: "Ada" })),
        Code.Unimplemented,
      );
    },
  );
  await t.step("a v1,v2 plugin under a v1 host: version 1, only version 1's services", async () => {
    await using plugin = await startVersioned("v1v2", [1]);
    assert.equal(plugin.handshake.appVersion, 1);
    assert.equal((await plugin.client(GreeterService).greet({ name: "Bo" })).greeting, "v1 Bo");
    assert.equal(await codeOf(plugin.client(KvService).get({ key: "k" })), Code.Unimplemented);
  });
  await t.step("a v1-only plugin under a v2 host: refused", async () => {
    const error = await startVersioned("v1-only", [2]).then(() => undefined, (e) => e);
    assert.ok(error instanceof PluginExitedError, String(error));
    assert.match(
      error.stderrTail.join("\n"),
      /host offers protocol version\(s\) 2, this plugin speaks 1/,
    );
  });
});

Deno.test("serve({ services }) as a function is told the negotiated version", async () => {
  for (const [offered, expected] of [[[1], 1], [[1, 2], 2]] as const) {
    await using plugin = await startVersioned("by-function", [...offered]);
    assert.equal(plugin.handshake.appVersion, expected);
    const { greeting } = await plugin.client(GreeterService).greet({ name: "Cy" });
    assert.equal(greeting, `v${expected} Cy`);
  }
});
