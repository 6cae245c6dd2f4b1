/**
 * The host side of `bench/stop_soak.ts`: starts and stops plugins `count`
 * times in one way (`kind`) on one transport, with calls in flight, and
 * prints one line per round: `ok <round>`, or `hung <round> <what>` when a
 * call neither answered nor failed within 5 s, or `leak <round> <pid>` when
 * the plugin outlived its stop. Run as a subprocess, so that a host crash is
 * observed (its exit status) rather than suffered.
 *
 * Usage: `_stop_soak_host.ts <transport> <kind> <count> <kv-go> <grpc-go interop peer>`
 *
 * @module
 */
import { Plugin, type TransportKind } from "../mod.ts";
import { createClient } from "../src/npm/connect.ts";
import { connectorFor } from "../src/transport/connectors.ts";
import { InteropService } from "../src/gen/bulkhead/testing/v1/interop_pb.ts";
import { KvService } from "../src/gen/bulkhead/examples/kv/v1/kv_pb.ts";
import { FixtureService } from "../src/gen/bulkhead/testing/v1/fixture_pb.ts";
import { KV_COOKIE } from "../examples/kv-deno/cookie.ts";

/** The ways a soak round ends its plugin. */
export const KINDS = [
  "go-shutdown",
  "grpc-go-goaway",
  "deno-goaway",
  "go-kill",
  "deno-kill",
] as const;
/** One of {@linkcode KINDS}. */
export type Kind = typeof KINDS[number];

const FIXTURE = new URL("../tests/fixtures/fixture_plugin.ts", import.meta.url);
const IN_FLIGHT = 16;
const CALL_MS = 5000;

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/** Settles calls at once (no rejection goes unhandled); names those that hung. */
function settle(calls: Promise<unknown>[]): Promise<string | undefined> {
  return Promise.allSettled(calls).then((results) => {
    const hung = results.filter((r) =>
      r.status === "rejected" && /deadline|timed? ?out/i.test(String(r.reason))
    );
    return hung.length > 0 ? `${hung.length} of ${calls.length} calls hung` : undefined;
  });
}

/**
 * A grpc-go server (the transport interop peer) stops gracefully (GOAWAY,
 * then it waits for streams in flight) while 16 server streams run on our
 * client; then one more call must fail cleanly.
 */
async function grpcGoGoaway(transport: TransportKind, peer: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "bulkhead-soak-" });
  const child = new Deno.Command(peer, {
    args: ["server", `${dir}/go.sock`],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    for (let seen = ""; !seen.includes("READY\n");) {
      const { value, done } = await lines.read();
      if (done) return "hung the grpc-go server did not start";
      seen += value;
    }
    void lines.cancel();
    await using channel = (await connectorFor(transport)).dial(`${dir}/go.sock`);
    const client = createClient(InteropService, channel.transport);
    const payload = new Uint8Array(1024);
    const timeoutMs = CALL_MS;
    const started: Promise<void>[] = [];
    const calls = Array.from({ length: IN_FLIGHT }, () => {
      let first!: () => void;
      started.push(new Promise<void>((resolve) => first = resolve));
      return (async () => {
        for await (const _ of client.serverStream({ payload, count: 2000 }, { timeoutMs })) first();
      })();
    });
    const settled = settle(calls);
    await Promise.race([Promise.all(started), settled]);
    await child.stdin.close(); // GracefulStop: GOAWAY, streams in flight finish
    const hung = await settled;
    await child.status;
    const after = await client.unary({ payload }, { timeoutMs }).then(
      () => "answered",
      (error) => /deadline/i.test(String(error)) ? "hung" : "failed",
    );
    if (hung) return `hung ${hung}`;
    if (after !== "failed") return `hung a call after GOAWAY ${after}`;
    return "ok";
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

async function round(
  transport: TransportKind,
  kind: Kind,
  kvGo: string,
  peer: string,
): Promise<string> {
  if (kind === "grpc-go-goaway") return await grpcGoGoaway(transport, peer);
  const go = kind.startsWith("go-");
  const plugin = await Plugin.start({
    ...(go ? { command: kvGo, cookie: KV_COOKIE } : { module: FIXTURE, args: ["ok"] }),
    logger: () => {},
    transport,
    stopGraceMs: 2000,
  });
  const pid = plugin.pid;
  const timeoutMs = CALL_MS;
  let calls: Promise<unknown>[];
  if (go) {
    const kv = plugin.client(KvService);
    await kv.put({ key: "k", value: "v" }, { timeoutMs });
    calls = Array.from({ length: IN_FLIGHT }, () => kv.get({ key: "k" }, { timeoutMs }));
  } else {
    const fixture = plugin.client(FixtureService);
    await fixture.echo({ text: "warm" }, { timeoutMs });
    calls = Array.from({ length: IN_FLIGHT }, () => fixture.echo({ text: "x" }, { timeoutMs }));
  }
  if (kind === "deno-goaway") {
    // the plugin's server shuts down (GOAWAY) on its own, calls in flight
    calls.push(plugin.client(FixtureService).act({ action: "goaway" }, { timeoutMs }));
    calls.push(plugin.client(FixtureService).echo({ text: "after" }, { timeoutMs }));
  }
  const settled = settle(calls);
  if (kind === "go-kill" || kind === "deno-kill") plugin.kill("SIGKILL");
  else await settled;
  // go-shutdown: go-plugin's Shutdown, then the Go server drops its connection
  await plugin.stop();
  const hung = await settled;
  if (hung) return `hung ${hung}`;
  if (alive(pid)) return `leak pid ${pid}`;
  return "ok";
}

if (import.meta.main) {
  const [transport = "native", kind = "go-kill", count = "10", kvGo = "", peer = ""] = Deno.args;
  for (let i = 0; i < Number(count); i++) {
    const [verdict, ...detail] = (await round(transport as TransportKind, kind as Kind, kvGo, peer))
      .split(" ");
    console.log([verdict, i, ...detail].join(" "));
  }
}
