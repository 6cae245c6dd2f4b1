/**
 * Handshake soak (issue #13, "a start never waits past its deadline"):
 * starts plugins that misbehave at their handshake in random ways, with a
 * short start timeout, and counts the starts that took longer than the
 * timeout plus one second ("hangs"; there must be none), what each start
 * failed with, how long starts took, and what was left on disk.
 *
 * The plugins are `/bin/sh` scripts (so that thousands start quickly), each
 * drawn from these kinds, with random parameters:
 *
 * - `truncated`: a prefix of a valid line, no newline; exits or stays;
 * - `garbage`: random characters (with `|`, control characters, maybe a newline);
 * - `random-fields`: six random fields, some plausible, with a newline;
 * - `no-socket`: a valid line for a socket nobody listens on;
 * - `late-line`: a valid line for no socket, after a random delay around the timeout;
 * - `early-exit`: exits at once with a random code, maybe after a stderr line;
 * - `child-holds-stdout`: forks a child that keeps stdout open, prints half a
 *   line, exits (the child is in the plugin's process group);
 * - `escaped-child`: the same with a child in a session of its own (`setsid`),
 *   which the host's process-group kill does not reach;
 * - `long-line`: 20 000 characters without a newline;
 * - `silent`: prints nothing and stays.
 *
 * Nothing here is asserted anywhere; it is a soak, not a test, and not in CI.
 *
 * Run: `deno task soak:handshake [starts] [start timeout ms] [concurrency] [seed]`
 * (default 2000 starts, 250 ms, 4 at a time, seed 13).
 *
 * @module
 */
import { Plugin } from "../mod.ts";

const starts = Number(Deno.args[0] ?? 2000);
const timeoutMs = Number(Deno.args[1] ?? 250);
const concurrency = Number(Deno.args[2] ?? 4);
let seed = Number(Deno.args[3] ?? 13);
const HANG_MS = timeoutMs + 1000;

/** A small deterministic PRNG (mulberry32), so a run can be repeated. */
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const chance = (p: number) => random() < p;

// CHILD: seconds a child holding stdout lives ("setsid:N" in a session of its
// own); ERR: a stderr line; DELAY: seconds before printing; VALID: print a
// valid line for the host's socket path first; LINE: what to print (no
// newline added); EXIT: exit with this code, else stay.
const SCRIPT = `case "$CHILD" in
  "") ;;
  setsid:*) /usr/bin/setsid /bin/sleep "\${CHILD#setsid:}" & ;;
  *) /bin/sleep "$CHILD" & ;;
esac
[ -n "$ERR" ] && echo "$ERR" >&2
[ -n "$DELAY" ] && /bin/sleep "$DELAY"
[ -n "$VALID" ] && printf '1|1|unix|%s|grpc|\\n' "$BULKHEAD_PLUGIN_SOCKET"
printf '%s' "$LINE"
[ -n "$EXIT" ] && exit "$EXIT"
exec /bin/sleep 30`;

const KINDS = [
  "truncated",
  "garbage",
  "random-fields",
  "no-socket",
  "late-line",
  "early-exit",
  "child-holds-stdout",
  "escaped-child",
  "long-line",
  "silent",
] as const;
type Kind = typeof KINDS[number];

function garbage(length: number): string {
  const alphabet = "abc|||123\t\r\u0001\u001b[0m é😀 ";
  return Array.from({ length }, () => pick([...alphabet])).join("");
}

/** The environment of one misbehaving plugin. */
function plugin(kind: Kind): Record<string, string> {
  const exitOrStay = () => chance(0.5) ? { EXIT: String(Math.floor(random() * 4)) } : {};
  switch (kind) {
    case "truncated": {
      const full = "1|1|unix|/tmp/bulkhead-x/plugin.sock|grpc|";
      return {
        LINE: full.slice(0, 1 + Math.floor(random() * (full.length - 1))),
        ...exitOrStay(),
        ...(chance(0.3) ? { CHILD: "2" } : {}),
      };
    }
    case "garbage":
      return {
        LINE: garbage(1 + Math.floor(random() * 80)) + (chance(0.5) ? "\n" : ""),
        ...exitOrStay(),
      };
    case "random-fields": {
      const fields = [
        pick(["1", "2", "0", "-1", "x", ""]),
        pick(["1", "7", "", "99999999999999999999"]),
        pick(["unix", "tcp", "udp", ""]),
        pick(["/tmp/elsewhere.sock", "127.0.0.1:1", "10.0.0.1:80", "", "../../etc/passwd"]),
        pick(["grpc", "netrpc", "", "GRPC"]),
        pick(["", "bm90IGEgY2VydA", "%%%"]),
      ];
      return {
        LINE: `${fields.slice(0, 3 + Math.floor(random() * 4)).join("|")}\n`,
        ...exitOrStay(),
      };
    }
    case "no-socket":
      return { VALID: "1", ...exitOrStay() };
    case "late-line":
      return { VALID: "1", DELAY: (random() * timeoutMs * 2 / 1000).toFixed(3) };
    case "early-exit":
      return {
        EXIT: String(Math.floor(random() * 256)),
        ...(chance(0.5) ? { ERR: "fatal: cannot start" } : {}),
      };
    case "child-holds-stdout":
      return { CHILD: "3", LINE: "1|1|unix|", EXIT: "0" };
    case "escaped-child":
      return { CHILD: "setsid:2", LINE: "1|1|", EXIT: "0" };
    case "long-line":
      return { LINE: "x".repeat(20_000), ...exitOrStay() };
    case "silent":
      return chance(0.5) ? { CHILD: "2" } : {};
  }
}

interface Tally {
  starts: number;
  hangs: { kind: Kind; ms: number; outcome: string }[];
  outcomes: Map<string, number>;
  elapsed: number[];
  byKind: Map<Kind, number[]>;
}

async function startOne(kind: Kind, socketParent: string, tally: Tally): Promise<void> {
  const env = plugin(kind);
  const begun = performance.now();
  let outcome: string;
  try {
    const started = await Plugin.start({
      command: "/bin/sh",
      args: ["-c", SCRIPT],
      env,
      name: kind,
      startTimeoutMs: timeoutMs,
      stopGraceMs: 100,
      socketParent,
      logger: () => {},
    });
    outcome = "started (!)";
    await started.stop();
  } catch (error) {
    const reason = (error as { reason?: unknown }).reason;
    outcome = `${(error as Error).name}${typeof reason === "string" ? ` ${reason}` : ""}`;
  }
  const ms = performance.now() - begun;
  tally.starts++;
  tally.elapsed.push(ms);
  tally.byKind.set(kind, [...tally.byKind.get(kind) ?? [], ms]);
  tally.outcomes.set(`${kind}: ${outcome}`, (tally.outcomes.get(`${kind}: ${outcome}`) ?? 0) + 1);
  if (ms > HANG_MS) tally.hangs.push({ kind, ms: Math.round(ms), outcome });
}

function percentile(sorted: number[], p: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0);
}

const socketParent = await Deno.makeTempDir({ prefix: "bulkhead-soak-" });
const tally: Tally = { starts: 0, hangs: [], outcomes: new Map(), elapsed: [], byKind: new Map() };
const kinds = Array.from({ length: starts }, () => pick(KINDS));
// how late a 20 ms timer fires: how busy the machine (not the plugins) keeps this host
const lags: number[] = [];
let tick = performance.now();
const probe = setInterval(() => {
  const now = performance.now();
  lags.push(now - tick - 20);
  tick = now;
}, 20);
const began = performance.now();
let next = 0;
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < kinds.length) await startOne(kinds[next++]!, socketParent, tally);
}));
const seconds = (performance.now() - began) / 1000;
clearInterval(probe);
const left = [...Deno.readDirSync(socketParent)].map((e) => e.name);
await Deno.remove(socketParent, { recursive: true });

const sorted = tally.elapsed.toSorted((a, b) => a - b);
console.log(
  `handshake soak: ${tally.starts} starts, start timeout ${timeoutMs} ms, ${concurrency} at a time, ${
    seconds.toFixed(1)
  } s`,
);
console.log(
  `start time ms: p50 ${percentile(sorted, 0.5)}, p99 ${percentile(sorted, 0.99)}, max ${
    Math.round(sorted.at(-1) ?? 0)
  }`,
);
for (const [kind, times] of [...tally.byKind].sort()) {
  const t = times.toSorted((a, b) => a - b);
  console.log(`  ${kind}: p50 ${percentile(t, 0.5)}, max ${Math.round(t.at(-1) ?? 0)}`);
}
const lagSorted = lags.toSorted((a, b) => a - b);
console.log(
  `host timer lateness ms (machine load): p50 ${percentile(lagSorted, 0.5)}, p99 ${
    percentile(lagSorted, 0.99)
  }, max ${Math.round(lagSorted.at(-1) ?? 0)}; load average ${Deno.loadavg().join(" ")}`,
);
console.log(`hangs past ${HANG_MS} ms: ${tally.hangs.length}`);
for (const hang of tally.hangs.slice(0, 20)) console.log(`  ${JSON.stringify(hang)}`);
console.log(`socket directories left: ${left.length}`);
console.log("outcomes:");
for (const [key, count] of [...tally.outcomes].sort()) {
  console.log(`  ${String(count).padStart(5)}  ${key}`);
}
