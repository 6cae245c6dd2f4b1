/**
 * Bulkhead plugins hosted by a go-plugin 1.0.1 host (tests/interop/go_host):
 * the Deno KV plugin written with our SDK (examples/kv-deno), and the Python
 * and Go KV plugins for comparison.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Plugin } from "../../mod.ts";
import { KvService } from "../../src/gen/bulkhead/examples/kv/v1/kv_pb.ts";
import { isAlive } from "../_helpers.ts";
import {
  goBinaries,
  KV_COOKIE,
  KV_PYTHON,
  named,
  noGo,
  noPython,
  PYTHON,
  ROOT,
  run,
} from "./_toolchains.ts";

const KV_DENO = `${ROOT}/examples/kv-deno/plugin.ts`;

/** What go_host prints when all went well. */
const EXPECTED = [
  "protocol grpc",
  "ping ok",
  "put ok",
  'get b = "2" found=true',
  'get missing = "" found=false',
  "list a,b,c",
  "killed exited=true graceful=true",
];

/** Runs go_host with a private TMPDIR; checks its output and that the plugin is gone. */
async function hostWithGo(args: string[], tmp: string): Promise<string> {
  const { goHost } = await goBinaries();
  const result = await run(goHost, args, { env: { TMPDIR: tmp } });
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  const lines = result.stdout.trim().split("\n");
  const pid = Number(lines.find((l) => l.startsWith("pid "))?.slice(4));
  assert.ok(pid > 0, result.stdout);
  const expected = args.includes("-automtls")
    ? [EXPECTED[0]!, "tls true", ...EXPECTED.slice(1)]
    : EXPECTED;
  assert.deepEqual(lines.filter((l) => !l.startsWith("pid ")), expected, result.stderr);
  assert.equal(isAlive(pid), false, `plugin process ${pid} outlived its go-plugin host`);
  return result.stderr;
}

/** Socket files left anywhere under `dir`. */
function socketsUnder(dir: string): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...socketsUnder(path));
    else if (Deno.lstatSync(path).isSocket) found.push(path);
  }
  return found;
}

Deno.test({
  name: named(
    "a go-plugin host runs the Deno KV plugin (SDK serve()) with least privilege: Put, Get, List, Kill",
    noGo,
  ),
  ignore: noGo !== undefined,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "bulkhead-gohost-" });
    try {
      // the host chooses the socket (BULKHEAD_PLUGIN_SOCKET in Cmd.Env), so the
      // plugin is granted that one path and three environment variables
      const socket = `${tmp}/kv.sock`;
      const stderr = await hostWithGo([
        "-socket",
        socket,
        Deno.execPath(),
        "run",
        "--no-prompt",
        `--allow-env=${KV_COOKIE.key},PLUGIN_PROTOCOL_VERSIONS,BULKHEAD_PLUGIN_SOCKET`,
        `--allow-read=${socket}`,
        `--allow-write=${socket}`,
        `--allow-net=unix:${socket}`,
        KV_DENO,
      ], tmp);
      assert.match(stderr, /put b \(1 bytes\)/, "the plugin's stderr reaches the go-plugin host");
      assert.deepEqual(socketsUnder(tmp), [], "the plugin removes its socket");
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: named(
    "a go-plugin host runs the Deno KV plugin on a socket of its own choosing (temporary directory)",
    noGo,
  ),
  ignore: noGo !== undefined,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "bulkhead-gohost-" });
    try {
      // a plain go-plugin host names no socket: the SDK makes a directory in
      // TMPDIR; Deno's unix permission names exact paths, so net is open
      await hostWithGo([
        Deno.execPath(),
        "run",
        "--no-prompt",
        "--allow-env",
        `--allow-read=${tmp}`,
        `--allow-write=${tmp}`,
        "--allow-net",
        KV_DENO,
      ], tmp);
      assert.deepEqual(socketsUnder(tmp), [], "the plugin removes its socket");
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: named(
    "a go-plugin host with AutoMTLS runs the Deno KV plugin over TLS (our P-521 certificate, its pinned)",
    noGo,
  ),
  ignore: noGo !== undefined,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "bulkhead-gohost-" });
    try {
      // as above, plus PLUGIN_CLIENT_CERT: the host's certificate, the only one the plugin accepts
      const socket = `${tmp}/kv.sock`;
      // "tls true": go-plugin took our announced certificate as its only root;
      // the plugin's server speaks nothing but TLS (tests/host/auto_mtls_test.ts)
      await hostWithGo([
        "-automtls",
        "-socket",
        socket,
        Deno.execPath(),
        "run",
        "--no-prompt",
        `--allow-env=${KV_COOKIE.key},PLUGIN_PROTOCOL_VERSIONS,BULKHEAD_PLUGIN_SOCKET,PLUGIN_CLIENT_CERT`,
        `--allow-read=${socket}`,
        `--allow-write=${socket}`,
        `--allow-net=unix:${socket}`,
        KV_DENO,
      ], tmp);
      assert.deepEqual(socketsUnder(tmp), [], "the plugin removes its socket");
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: named("a go-plugin host with AutoMTLS runs the Go KV plugin (the reference pairing)", noGo),
  ignore: noGo !== undefined,
  async fn() {
    const { kvGo } = await goBinaries();
    const tmp = await Deno.makeTempDir({ prefix: "bulkhead-gohost-" });
    try {
      await hostWithGo(["-automtls", kvGo], tmp);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: named("a go-plugin host runs the Python KV plugin", noGo, noPython),
  ignore: noGo !== undefined || noPython !== undefined,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "bulkhead-gohost-" });
    try {
      await hostWithGo([PYTHON, KV_PYTHON], tmp);
      assert.deepEqual(socketsUnder(tmp), [], "the plugin removes its socket");
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: named("a go-plugin host runs the Go KV plugin (the reference pairing)", noGo),
  ignore: noGo !== undefined,
  async fn() {
    const { kvGo } = await goBinaries();
    const tmp = await Deno.makeTempDir({ prefix: "bulkhead-gohost-" });
    try {
      await hostWithGo([kvGo], tmp);
      assert.deepEqual(socketsUnder(tmp), [], "the plugin removes its socket");
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test("the Deno KV plugin runs under Plugin.start too, sandboxed", async () => {
  await using plugin = await Plugin.start({ module: KV_DENO, cookie: KV_COOKIE, logger: () => {} });
  assert.deepEqual(plugin.info().sandboxEscapes, []);
  const kv = plugin.client(KvService);
  await kv.put({ key: "x", value: "1" });
  await kv.put({ key: "y", value: "2" });
  assert.equal((await kv.get({ key: "y" })).value, "2");
  assert.deepEqual((await kv.list({})).keys, ["x", "y"]);
});
