import assert from "node:assert/strict";
import { permissionFlags, sandboxEscapes } from "../../src/host/permissions.ts";

const SOCKET = "/tmp/bulkhead-x/plugin.sock";

Deno.test("permissionFlags() grants nothing but the socket by default", () => {
  assert.deepEqual(permissionFlags({}, SOCKET), [
    "--no-prompt",
    `--allow-read=${SOCKET}`,
    `--allow-write=${SOCKET}`,
    `--allow-net=unix:${SOCKET}`,
  ]);
});

Deno.test("permissionFlags() adds exactly what the grant names, never -A", () => {
  const flags = permissionFlags(
    { read: ["/data"], net: ["api.example.com:443"], env: ["TZ"], sys: ["hostname"] },
    SOCKET,
    ["BULKHEAD_PLUGIN"],
  );
  assert.ok(flags.includes(`--allow-read=${SOCKET},/data`));
  assert.ok(flags.includes(`--allow-net=unix:${SOCKET},api.example.com:443`));
  assert.ok(flags.includes("--allow-env=BULKHEAD_PLUGIN,TZ"));
  assert.ok(flags.includes("--allow-sys=hostname"));
  assert.ok(!flags.some((f) => f === "-A" || f === "--allow-all" || f.startsWith("--allow-run")));
});

Deno.test("permissionFlags() maps true to the unrestricted flag", () => {
  const flags = permissionFlags({ read: true, unsafeRun: true }, SOCKET);
  assert.ok(flags.includes("--allow-read"));
  assert.ok(flags.includes("--allow-run"));
});

Deno.test("permissionFlags() rejects entries that would smuggle in another flag value", () => {
  assert.throws(() => permissionFlags({ read: ["/a,/etc"] }, SOCKET), TypeError);
  assert.throws(() => permissionFlags({ read: [""] }, SOCKET), TypeError);
});

Deno.test("sandboxEscapes() names run and ffi grants", () => {
  assert.deepEqual(sandboxEscapes({ read: ["/data"] }), []);
  const warnings = sandboxEscapes({ unsafeRun: ["git"], unsafeFfi: true });
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /not sandboxed/);
});
