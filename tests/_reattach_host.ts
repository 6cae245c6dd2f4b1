/**
 * What the reattach tests share: a host process (tests/fixtures/reattach_host.ts)
 * started with a KV plugin and stopped by SIGTERM, and what it left behind.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { PluginOptions, ReattachConfig } from "../mod.ts";
import { readLines } from "../src/host/lines.ts";

const HOST = new URL("./fixtures/reattach_host.ts", import.meta.url);

/** What a stopped host left: its plugin, and the config it wrote (if reattachable). */
export interface HandedOver {
  /** The plugin's pid. */
  pid: number;
  /** Its socket directory. */
  socketDir: string;
  /** The config the host wrote on SIGTERM (`undefined` when not reattachable). */
  config: ReattachConfig | undefined;
  /** The host's stderr, for failure messages. */
  stderr: string;
}

/**
 * Starts a host with a KV plugin (`options`), waits until it has put its
 * state, stops it with SIGTERM and waits for it to exit.
 *
 * @param options The plugin's start options.
 * @returns What it left.
 */
export async function hostStoppedBySigterm(options: PluginOptions): Promise<HandedOver> {
  const dir = await Deno.makeTempDir({ prefix: "bulkhead-reattach-test-" });
  const configPath = `${dir}/config.json`;
  try {
    const host = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", HOST.href, JSON.stringify(options), configPath],
      stdout: "piped",
      stderr: "piped",
      env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
    }).spawn();
    const stderr = new Response(host.stderr).text();
    const lines = readLines(host.stdout);
    const first = await lines.next();
    if (first.done) {
      await host.status;
      assert.fail(`the host exited before its plugin was ready:\n${(await stderr).slice(-3000)}`);
    }
    const { pid, socketDir } = JSON.parse(String(first.value)) as {
      pid: number;
      socketDir: string;
    };
    host.kill("SIGTERM");
    const status = await host.status;
    await lines.return(undefined);
    assert.equal(status.code, 0, `host exited with ${status.code}: ${(await stderr).slice(-3000)}`);
    const config = options.reattachable
      ? JSON.parse(await Deno.readTextFile(configPath)) as ReattachConfig
      : undefined;
    if (config) assert.equal((await Deno.stat(configPath)).mode! & 0o777, 0o600);
    return { pid, socketDir, config, stderr: await stderr };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Kills what a failed test left: the plugin's group, the guardian's group, the directory. */
export function sweep(left: HandedOver): void {
  for (const group of [left.pid, left.config?.watchdog.pid]) {
    if (group === undefined) continue;
    try {
      Deno.kill(-group, "SIGKILL");
    } catch {
      // gone: the usual case
    }
  }
  try {
    Deno.removeSync(left.socketDir, { recursive: true });
  } catch {
    // removed
  }
}
