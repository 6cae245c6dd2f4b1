/**
 * go-plugin's GRPCBroker under a go-plugin 1.0.1 Go host
 * (tests/interop/broker_host): our Deno SDK plugin
 * (tests/interop/deno_broker_plugin.ts) calls back into a Counter the Go
 * host serves, and serves one the Go host dials, in plaintext and with
 * AutoMTLS; and the reference pairing with the Go plugin.
 *
 * @module
 */
import assert from "node:assert/strict";
import { isAlive } from "../_helpers.ts";
import { goBinaries, named, noGo, ROOT, run } from "./_toolchains.ts";

const DENO_PLUGIN = `${ROOT}/tests/interop/deno_broker_plugin.ts`;

/** Runs broker_host with a private TMPDIR; returns its result lines (without the pid) and checks the plugin is gone. */
async function hostWithGo(args: string[], tmp: string): Promise<string[]> {
  const { brokerHost } = await goBinaries();
  const result = await run(brokerHost, args, { env: { TMPDIR: tmp } });
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  const lines = result.stdout.trim().split("\n");
  const pid = Number(lines.find((l) => l.startsWith("pid "))?.slice(4));
  assert.ok(pid > 0, result.stdout);
  assert.equal(isAlive(pid), false, `plugin process ${pid} outlived its go-plugin host`);
  return lines.filter((l) => !l.startsWith("pid "));
}

/** The Deno plugin's command line: a go-plugin host's brokered sockets are random paths in TMPDIR. */
function denoPlugin(tmp: string): string[] {
  return [
    "-socket",
    `${tmp}/plugin.sock`,
    Deno.execPath(),
    "run",
    "--no-prompt",
    "--allow-env",
    `--allow-read=${tmp}`,
    `--allow-write=${tmp}`,
    "--allow-net",
    DENO_PLUGIN,
  ];
}

const BOTH_WAYS = [
  "add-via-broker total=15 served-by=go-host callers=deno-plugin,deno-plugin,deno-plugin",
  "dial total=7 served-by=deno-plugin",
  "killed exited=true graceful=true",
];

for (const autoMtls of [false, true]) {
  Deno.test({
    name: named(
      `a go-plugin host and the Deno SDK plugin call each other through the broker (${
        autoMtls ? "AutoMTLS" : "plaintext"
      })`,
      noGo,
    ),
    ignore: noGo !== undefined,
    async fn() {
      const tmp = await Deno.makeTempDir({ prefix: "bulkhead-brokerhost-" });
      try {
        const lines = await hostWithGo(
          [...(autoMtls ? ["-automtls"] : []), ...denoPlugin(tmp)],
          tmp,
        );
        assert.deepEqual(lines, BOTH_WAYS);
        // the plugin's sockets (its own and its brokered one) are gone
        assert.deepEqual([...Deno.readDirSync(tmp)].filter((e) => e.name.startsWith("plugin")), []);
      } finally {
        await Deno.remove(tmp, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: named(
    "go-plugin 1.0.1's own pairing: under AutoMTLS its plugin cannot dial the host's brokered server (go-plugin#109)",
    noGo,
  ),
  ignore: noGo !== undefined,
  async fn() {
    const { brokerPlugin } = await goBinaries();
    const tmp = await Deno.makeTempDir({ prefix: "bulkhead-brokerhost-" });
    try {
      assert.deepEqual(await hostWithGo([brokerPlugin], tmp), [
        "add-via-broker total=15 served-by=go-host callers=plugin,plugin,plugin",
        "dial total=7 served-by=plugin",
        "killed exited=true graceful=true",
      ]);
      // the plugin's broker dials with its server TLS config: no RootCAs (the
      // system's), no ServerName (grpc takes "unused" from its dummy target)
      const [add, ...rest] = await hostWithGo(["-automtls", brokerPlugin], tmp);
      assert.match(
        add!,
        /^add-via-broker error .*x509: certificate is valid for localhost, not unused/,
      );
      assert.deepEqual(rest, ["dial total=7 served-by=plugin", "killed exited=true graceful=true"]);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
