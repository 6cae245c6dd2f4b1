/**
 * Stop soak (issue #7: "0 host crashes in 1000 graceful and 1000 abrupt
 * plugin stops"): for each transport, starts and stops plugins in four ways
 * with 16 calls in flight each time, in a host subprocess, and counts what
 * went wrong:
 *
 * - `go-shutdown`: go-plugin's Shutdown to the kv-go plugin (go-plugin
 *   1.0.1 on grpc-go), whose server then drops the connection (1.0.1 calls
 *   grpc-go's `Stop`, which sends no GOAWAY);
 * - `grpc-go-goaway`: a grpc-go server's `GracefulStop` (GOAWAY, then it
 *   waits for the streams in flight) under 16 server streams, then one more
 *   call, which must fail;
 * - `deno-goaway`: a Deno plugin's server shuts down on its own (GOAWAY)
 *   while calls are in flight;
 * - `go-kill`, `deno-kill`: SIGKILL with calls in flight.
 *
 * A host crash is the subprocess dying (exit code or signal) before it
 * printed all its rounds: it is counted, with its last stderr line, and a
 * new host carries on with the rounds left. A hung call (no answer and no
 * error within 5 s) or a plugin alive after its stop is counted too.
 * Nothing here is asserted anywhere; it is a soak, not a test, and not in CI.
 *
 * Run: `deno task soak:stops [rounds per kind] [transport…]`
 * (default 500 per kind, i.e. 1000 graceful and 1000 abrupt stops, on the
 * native transport; add `node-http2` to compare).
 *
 * @module
 */
import { KINDS } from "./_stop_soak_host.ts";
import { buildGo } from "../tests/transport/interop/peers.ts";

const perKind = Number(Deno.args[0] ?? 500);
const transports = Deno.args.length > 1 ? Deno.args.slice(1) : ["native"];
const root = new URL("..", import.meta.url).pathname;

async function buildKvGo(dir: string): Promise<string> {
  const { code, stderr } = await new Deno.Command("sh", {
    args: [`${root}tests/interop/build.sh`, dir],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(
      `Cannot build kv-go (tests/interop/build.sh exited with ${code}):\n${
        new TextDecoder().decode(stderr)
      }`,
    );
  }
  return `${dir}/kv-go`;
}

interface Tally {
  rounds: number;
  crashes: string[];
  hung: number;
  leaks: number;
  seconds: number;
}

/** Runs `count` rounds of one kind, restarting the host after each crash. */
async function soak(
  transport: string,
  kind: string,
  count: number,
  kvGo: string,
  peer: string,
): Promise<Tally> {
  const tally: Tally = { rounds: 0, crashes: [], hung: 0, leaks: 0, seconds: 0 };
  const started = performance.now();
  while (tally.rounds < count) {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${root}bench/_stop_soak_host.ts`,
        transport,
        kind,
        String(count - tally.rounds),
        kvGo,
        peer,
      ],
      stdout: "piped",
      stderr: "piped",
      env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
    }).spawn();
    const stderr = new Response(child.stderr).text();
    let done = 0;
    const lines = child.stdout.pipeThrough(new TextDecoderStream());
    let pending = "";
    for await (const chunk of lines) {
      pending += chunk;
      const parts = pending.split("\n");
      pending = parts.pop()!;
      for (const line of parts) {
        done++;
        if (line.startsWith("hung")) tally.hung++;
        if (line.startsWith("leak")) tally.leaks++;
        if (!line.startsWith("ok")) console.error(`${transport} ${kind}: ${line}`);
      }
    }
    const status = await child.status;
    tally.rounds += done;
    if (!status.success || done === 0) {
      const last = (await stderr).trim().split("\n").slice(-1)[0] ?? "";
      const how = status.signal ? `signal ${status.signal}` : `exit code ${status.code}`;
      tally.crashes.push(`${how}: ${last}`);
      console.error(`${transport} ${kind}: host died after ${done} rounds (${how}) ${last}`);
      tally.rounds++; // the round it died in
    } else await stderr;
  }
  tally.seconds = (performance.now() - started) / 1000;
  return tally;
}

const dir = await Deno.makeTempDir({ prefix: "bulkhead-soak-" });
try {
  const kvGo = await buildKvGo(dir);
  await using go = await buildGo();
  const rows: string[] = [];
  for (const transport of transports) {
    for (const kind of KINDS) {
      const t = await soak(transport, kind, perKind, kvGo, go.server.command);
      const row = {
        transport,
        kind,
        rounds: t.rounds,
        hostCrashes: t.crashes.length,
        hungCalls: t.hung,
        leakedPlugins: t.leaks,
        seconds: Math.round(t.seconds),
      };
      console.log(JSON.stringify(row));
      rows.push(
        `${transport.padEnd(11)} ${kind.padEnd(14)} ${String(t.rounds).padStart(6)} ${
          String(t.crashes.length).padStart(12)
        } ${String(t.hung).padStart(10)} ${String(t.leaks).padStart(7)} ${
          String(Math.round(t.seconds)).padStart(6)
        }`,
      );
    }
  }
  console.log(`\nplugin stops with 16 calls in flight (${Deno.build.os}/${Deno.build.arch})`);
  console.log("transport   kind           rounds host crashes hung calls  leaks      s");
  for (const row of rows) console.log(row);
} finally {
  await Deno.remove(dir, { recursive: true });
}
