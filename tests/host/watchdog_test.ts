import assert from "node:assert/strict";
import { Plugin } from "../../mod.ts";
import { waitFor } from "../_helpers.ts";

function entries(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name);
}

Deno.test("a host SIGKILLed while a plugin starts leaves no socket directory", async (t) => {
  for (let round = 1; round <= 3; round++) {
    await t.step(`round ${round}`, async () => {
      const parent = await Deno.makeTempDir({ prefix: "bulkhead-test-" });
      const host = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("../fixtures/starting_host.ts", import.meta.url).href, parent],
        stdout: "null",
        stderr: "null",
        env: { RUST_BACKTRACE: "0" },
      }).spawn();
      try {
        // the moment the socket directory appears: the plugin's module is
        // being cached (or, later, the plugin spawned)
        assert.ok(await waitFor(() => entries(parent).length > 0, 60_000), "no socket directory");
      } finally {
        host.kill("SIGKILL");
        await host.status;
      }
      const removed = await waitFor(() => entries(parent).length === 0, 5000);
      const left = entries(parent);
      await Deno.remove(parent, { recursive: true });
      assert.ok(removed, `left behind by a host killed during the start: ${left.join(", ")}`);
    });
  }
});

Deno.test("a socket path too long for Linux is refused, and its directory removed", async () => {
  const root = await Deno.makeTempDir({ prefix: "bulkhead-test-" });
  const parent = `${root}/${"d".repeat(100)}`;
  await Deno.mkdir(parent);
  try {
    const error = await Plugin.start({
      command: "/bin/true",
      socketParent: parent,
      logger: () => {},
    })
      .catch((e) => e);
    assert.ok(error instanceof RangeError, String(error));
    assert.match(error.message, /longer than 107 bytes/);
    assert.deepEqual(entries(parent), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
