/**
 * Attacks through the log reader: hclog levels and field names that every
 * plain object has (`log_constructor.ts`), and forged lines
 * (`log_forgery.ts`). Hosts under attack run as their own process
 * (`fixtures/log_host.ts`): a crash there is an exit code here.
 */
import assert from "node:assert/strict";
import {
  escapeControlChars,
  HandshakeError,
  type LogRecord,
  Plugin,
  PluginExitedError,
  stderrLogger,
} from "../../mod.ts";
import { toLogRecord } from "../../src/host/logger.ts";
import { MAX_LINE_CHARS } from "../../src/host/lines.ts";
import { GreeterService } from "../../src/gen/bulkhead/examples/greeter/v1/greeter_pb.ts";
import { HOSTILE_FIXTURES, runHost } from "./_log_stop_helpers.ts";

const WAYS = [
  { way: "stderr", waitFor: "attack-done" },
  { way: "stdout", waitFor: "attack-done" },
  { way: "stdio", waitFor: "partial-tail" },
  { way: "bare", waitFor: "first-line", mode: "none" },
];

Deno.test("a plugin logging @level constructor neither crashes its host nor silences it", async () => {
  const run = await runHost("log_host.ts", [
    "./log_constructor.ts",
    ...WAYS.map(({ way, waitFor, mode }) => [way, waitFor, ...(mode ? [mode] : [])].join(":")),
  ], { env: { LOG_HOST_GUARD: "1" } });
  assert.equal(run.code, 0, `host exited ${run.code}: ${JSON.stringify(run.facts)}\n${run.stderr}`);
  assert.deepEqual(run.facts, [{
    payments: "Hello, Ada!", // the other plugin is unharmed
    hostile: Object.fromEntries(WAYS.map(({ way }) => [
      `hostile-${way}`,
      // the host still reads the attacker's output, and still serves it
      "arrived, Hello, 3!",
    ])),
  }]);
  for (const { way, waitFor } of WAYS) {
    assert.match(run.stderr, new RegExp(`^\\[hostile-${way}\\] ${waitFor}$`, "m"));
  }
});

Deno.test("hostile hclog levels are info, hostile field names are plain own fields", () => {
  for (const level of ["constructor", "__proto__", "toString", "hasOwnProperty", "CONSTRUCTOR"]) {
    const record = toLogRecord("p", JSON.stringify({ "@level": level, "@message": "m" }), "stdio");
    assert.equal(record.level, "info", level);
  }
  assert.equal(
    toLogRecord("p", '{"@level":{"toString":1},"@message":"m"}', "stderr").level,
    "info",
  );
  assert.equal(toLogRecord("p", '["@message"]', "stderr").message, '["@message"]');
  const record = toLogRecord(
    "p",
    '{"@message":"m","__proto__":{"polluted":1},"constructor":"c"}',
    "stderr",
  );
  assert.equal(Object.hasOwn(record.fields!, "__proto__"), true);
  assert.equal(Object.getPrototypeOf(record.fields), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("a stdio stream without a newline is logged in bounded pieces", async () => {
  let longest = 0;
  let pieces = 0;
  let arrived!: () => void;
  const done = new Promise<void>((resolve) => arrived = resolve);
  await using plugin = await Plugin.start({
    module: new URL("./log_constructor.ts", HOSTILE_FIXTURES),
    args: ["stdio-endless"],
    name: "hostile-endless",
    logger: (record) => {
      if (record.message === "endless-done") return arrived();
      longest = Math.max(longest, record.message.length);
      pieces++;
    },
  });
  await done;
  // 64 MiB arrived as pieces no longer than a line may be, not as one string
  assert.ok(longest <= MAX_LINE_CHARS, `a piece of ${longest} characters`);
  assert.ok(pieces >= (64 << 20) / MAX_LINE_CHARS, `${pieces} pieces`);
  assert.equal((await plugin.client(GreeterService).greet({ name: "Eve" })).greeting, "Hello, 3!");
});

Deno.test("a hostile plugin's log lines raise no unhandled rejection in its host", async () => {
  const unhandled: unknown[] = [];
  const onRejection = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    unhandled.push(event.reason);
  };
  const onError = (event: ErrorEvent) => {
    event.preventDefault();
    unhandled.push(event.error);
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  globalThis.addEventListener("error", onError);
  try {
    await Promise.all(WAYS.map(async ({ way, waitFor, mode }) => {
      const records: LogRecord[] = [];
      let arrived!: () => void;
      const done = new Promise<void>((resolve) => arrived = resolve);
      await using plugin = await Plugin.start({
        module: new URL("./log_constructor.ts", HOSTILE_FIXTURES),
        args: [way],
        name: "hostile",
        ...(mode ? { handshake: "none" as const } : {}),
        logger: (record) => {
          records.push(record);
          if (record.message === waitFor) arrived();
          // a logger that throws on what it does not like must not hurt the host either
          if (record.message.startsWith("level")) throw new Error("logger refuses");
        },
      });
      await done;
      await new Promise((resolve) => setTimeout(resolve, 0));
      assert.ok(
        records.every((r) => ["trace", "debug", "info", "warn", "error"].includes(r.level)),
      );
      assert.equal(
        (await plugin.client(GreeterService).greet({ name: "Eve" })).greeting,
        "Hello, 3!",
      );
    }));
  } finally {
    globalThis.removeEventListener("unhandledrejection", onRejection);
    globalThis.removeEventListener("error", onError);
  }
  assert.deepEqual(unhandled, []);
});

Deno.test("a plugin cannot forge a log line in the default logger's output", async () => {
  const run = await runHost("log_host.ts", ["./log_forgery.ts", "forgery:attack-done"], {
    env: { LOG_HOST_GUARD: "1" },
  });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.facts[0]?.payments, "Hello, Ada!");
  const lines = run.stderr.split("\n").filter((line) => line !== "");
  assert.equal(lines.length, 7, run.stderr); // one line per record
  for (const line of lines) {
    assert.match(line, /^\[hostile-forgery\] /); // every line names its plugin, first
    // no C0 (but tab), DEL, C1, line separators or bidi controls reach the terminal
    assert.doesNotMatch(
      line,
      // deno-lint-ignore no-control-regex
      /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/,
    );
  }
  assert.equal(
    lines[0],
    '[hostile-forgery] ERROR ok\\nbulkhead: plugin "payments" exited with code 1',
  );
  assert.equal(lines[1], "[hostile-forgery] wait\\r[payments] Hello, Mallory!");
  assert.equal(lines[2], "[hostile-forgery] \\e[2K\\e[1G[payments] erased");
  assert.equal(
    lines[3],
    "[hostile-forgery] sep\\u2028[payments] line\\u2029para\\x85nel\\x7fdel\\u202eexe.gnp",
  );
  assert.match(
    lines[4]!,
    /^\[hostile-forgery\] fields evil\\nkey="v\\r\\u001b\[31m" k="a\\nbulkhead/,
  );
  assert.equal(
    lines[5],
    "[hostile-forgery] plain\\r[payments] raw carriage return \\e[31mred\\x07",
  );
});

Deno.test("escapeControlChars() escapes what moves a terminal's cursor, keeps the rest", () => {
  assert.equal(
    escapeControlChars("a\r\n\x1b[2K\x00\x7f\x9b\u2028\u202e\u2066b"),
    [
      "a\\r\\n\\e[2K\\x00\\x7f\\x9b\\u2028\\u202e\\u2066b",
    ].join(""),
  );
  assert.equal(
    escapeControlChars("tab\tstays, ünïcödé and 日本語 too"),
    "tab\tstays, ünïcödé and 日本語 too",
  );
  // a record printed by the default logger is one line, whatever its parts hold
  const record: LogRecord = {
    plugin: "p\n[q]",
    level: "warn",
    message: "x\ny",
    source: "stderr",
    fields: { "a\nb": "c\nd" },
  };
  stderrLogger(record); // must not throw; what it prints is checked by the forgery test
});

Deno.test("errors quote a plugin's stderr and handshake line escaped, keep them raw in fields", () => {
  const tail = ["fatal\r[payments] fine\u001b[2K", "bye\u202e"];
  const exited = new PluginExitedError("p", "while in use", { code: 1, signal: null }, tail);
  assert.match(exited.message, /fatal\\r\[payments\] fine\\e\[2K\n {2}bye\\u202e$/);
  assert.deepEqual(exited.stderrTail, tail);
  const refused = new HandshakeError("p", "malformed", "bad line", {
    line: "1|1\u2028x",
    stderrTail: tail,
  });
  assert.match(refused.message, /\(line: "1\|1\\u2028x"\)/);
  assert.equal(refused.line, "1|1\u2028x");
});
