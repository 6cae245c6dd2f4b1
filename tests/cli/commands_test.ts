import assert from "node:assert/strict";
import denoJson from "../../deno.json" with { type: "json" };
import { cli, type CliResult, ROOT } from "./_cli.ts";

const GREETER = "examples/greeter/plugin.ts";
const GREET = "bulkhead.examples.greeter.v1.GreeterService/Greet";

function assertNoStackTrace(result: CliResult): void {
  assert.doesNotMatch(result.stderr, /^\s+at /m, result.stderr);
}

Deno.test("cli health prints SERVING and exits 0", async (t) => {
  await t.step("text", async () => {
    const result = await cli(["health", "--", GREETER]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "SERVING\n");
  });
  await t.step("--json", async () => {
    const result = await cli(["health", "--json", "--quiet", "--", GREETER]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { service: "plugin", status: "SERVING" });
  });
});

Deno.test("cli health reports a plugin still warming up as NOT_SERVING at once, exit 1", async () => {
  const result = await cli(["health", "--", "tests/fixtures/fixture_plugin.ts", "warmup"]);
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.stdout, "NOT_SERVING\n");
  assertNoStackTrace(result);
});

Deno.test("cli health exits 1 with the code name for an unknown service", async () => {
  const result = await cli(["health", "--service", "nope", "--", GREETER]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^bulkhead: NOT_FOUND: /m);
  assertNoStackTrace(result);
});

Deno.test("cli inspect shows the handshake, services, methods, permissions and health", async () => {
  const result = await cli(["inspect", "--allow-read=/tmp", "--", GREETER]);
  assert.equal(result.code, 0, result.stderr);
  const out = result.stdout;
  assert.match(out, /^Handshake: 1\|1\|unix\|\S+\/plugin\.sock\|grpc\|/m);
  assert.match(out, /protocol version\s+1/);
  assert.match(
    out,
    /Services \(via grpc\.reflection\.v1\):\n {2}bulkhead\.examples\.greeter\.v1\.GreeterService\n/,
  );
  assert.match(
    out,
    / {4}rpc Greet\(bulkhead\.examples\.greeter\.v1\.GreetRequest\) returns \(bulkhead\.examples\.greeter\.v1\.GreetResponse\)/,
  );
  assert.match(out, /Permissions: sandboxed by Deno/);
  assert.match(out, /--allow-read=\S+plugin\.sock,\/tmp/);
  assert.match(out, /^ {2}module root \S+\/examples\/greeter \(imports load from here\)$/m);
  assert.doesNotMatch(out, /WARNING/);
  assert.match(out, /^Health: SERVING$/m);
  assert.match(out, /^Process: ready in \d+ ms; RSS \d+\.\d MiB; limits: /m);
});

Deno.test("cli refuses a plugin that imports code outside its module root, unless --module-root widens it", async () => {
  const plugin = "tests/hostile/fixtures/graph_module/plugin.ts";
  const refused = await cli(["health", "--quiet", "--", plugin]);
  assert.equal(refused.code, 3, refused.stderr);
  assert.match(
    refused.stderr,
    /^bulkhead: Cannot start plugin "graph_module": it imports \S+\/graph_outside\/outside\.ts \(from \S+\/graph_module\/plugin\.ts\)/m,
  );
  assertNoStackTrace(refused);
  const widened = await cli([
    "health",
    "--quiet",
    "--module-root",
    "tests/hostile/fixtures",
    "--",
    plugin,
  ]);
  assert.equal(widened.code, 0, widened.stderr);
  assert.equal(widened.stdout, "SERVING\n");
});

Deno.test("cli inspect warns about each sandbox escape", async () => {
  const result = await cli([
    "inspect",
    "--quiet",
    "--unsafe-allow-ffi",
    "--allow-write",
    "--",
    GREETER,
  ]);
  assert.equal(result.code, 0, result.stderr);
  const warnings = result.stdout.split("\n").filter((line) => line.includes("WARNING"));
  assert.equal(warnings.length, 2, result.stdout);
  assert.match(warnings[0]!, /escapes the sandbox: .*native libraries/);
  assert.match(warnings[1]!, /escapes the sandbox: may write any file/);
});

Deno.test("cli inspect --json prints one JSON object", async () => {
  const result = await cli(["inspect", "--json", "--", GREETER]);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.name, "greeter");
  assert.equal(report.protocolVersion, 1);
  assert.equal(report.handshake.network, "unix");
  assert.equal(report.permissions.sandboxed, true);
  assert.deepEqual(report.permissions.sandboxEscapes, []);
  assert.match(report.permissions.moduleRoot, /\/examples\/greeter$/);
  assert.deepEqual(report.health, { status: "SERVING" });
  assert.equal(report.reflection.version, "v1");
  const greeter = report.reflection.services.find((s: { name: string }) =>
    s.name === "bulkhead.examples.greeter.v1.GreeterService"
  );
  assert.deepEqual(greeter, {
    name: "bulkhead.examples.greeter.v1.GreeterService",
    builtin: false,
    methods: [{
      name: "Greet",
      kind: "unary",
      input: "bulkhead.examples.greeter.v1.GreetRequest",
      output: "bulkhead.examples.greeter.v1.GreetResponse",
    }],
  });
});

Deno.test("cli inspect warns that an executable run with --no-sandbox is not sandboxed", async () => {
  const result = await cli([
    "inspect",
    "--exec",
    "--no-sandbox",
    "--quiet",
    "--",
    Deno.execPath(),
    "run",
    "-A",
    GREETER,
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^Permissions: WARNING: not sandboxed \(sandbox: false\)/m);
  assert.match(result.stderr, /warning: .* runs unsandboxed \(--no-sandbox\)/);
  assert.match(result.stdout, /GreeterService/);
});

Deno.test("cli call prints the JSON response", async (t) => {
  await t.step("Service/Method", async () => {
    const result = await cli(["call", GREET, '{"name":"Ada"}', "--", GREETER]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '{\n  "greeting": "Hello, Ada!"\n}\n');
  });
  await t.step("Service.Method with the request on stdin", async () => {
    const result = await cli(
      ["call", GREET.replace("/", "."), "-", "--", GREETER],
      '{"name": "Grace"}',
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { greeting: "Hello, Grace!" });
  });
  await t.step("default request {}", async () => {
    const result = await cli(["call", GREET, "--", GREETER]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { greeting: "Hello, stranger!" });
  });
});

Deno.test("cli call of an unknown method is a usage error (exit 2) with a clear message", async (t) => {
  await t.step("unknown method", async () => {
    const result = await cli(["call", GREET.replace(/Greet$/, "Wave"), "--", GREETER]);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      /^bulkhead: Cannot find method "Wave" in service "bulkhead\.examples\.greeter\.v1\.GreeterService" \(its methods: Greet\)$/m,
    );
    assertNoStackTrace(result);
  });
  await t.step("unknown service", async () => {
    const result = await cli(["call", "no.such.Service/Greet", "--", GREETER]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^bulkhead: Cannot find service "no\.such\.Service"/m);
  });
});

Deno.test("cli call of a server-streaming method prints each response as a line until --max-time", async () => {
  const result = await cli([
    "call",
    "--max-time",
    "1",
    "grpc.health.v1.Health/Watch",
    '{"service":"plugin"}',
    "--",
    GREETER,
  ]);
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.stdout, '{"status":"SERVING"}\n');
  assert.match(result.stderr, /DEADLINE_EXCEEDED/);
});

Deno.test("cli rejects bad usage with exit 2", async (t) => {
  const cases: [string, string[], RegExp][] = [
    ["unknown flag", ["health", "--bogus", "--", GREETER], /Unknown option --bogus/],
    ["unknown command", ["frobnicate"], /Unknown command "frobnicate"/],
    ["no plugin", ["health"], /No plugin given/],
    ["plugin before --", ["inspect", GREETER], /Unexpected argument/],
    ["--allow-run", ["health", "--allow-run", "--", GREETER], /--unsafe-allow-run/],
    [
      "--module-root for an executable",
      ["health", "--module-root", ".", "--", "/bin/true"],
      /--module-root applies to a Deno module only/,
    ],
    [
      "bad method name",
      ["call", "Greet", "{}", "--", GREETER],
      /expected package\.Service\/Method/,
    ],
    ["bad JSON", ["call", GREET, "{name:", "--", GREETER], /Cannot read the request/],
    ["unknown field", ["call", GREET, '{"nmae":"x"}', "--", GREETER], /"nmae" is unknown/],
    ["bad versions", ["health", "--protocol-versions", "one", "--", GREETER], /positive integers/],
    ["bad timeout", ["health", "--timeout", "-5", "--", GREETER], /--timeout/],
    ["bad cookie", ["health", "--cookie", "nocookie", "--", GREETER], /KEY=VALUE/],
  ];
  for (const [name, args, message] of cases) {
    await t.step(name, async () => {
      const result = await cli(args);
      assert.equal(result.code, 2, `${result.stdout}${result.stderr}`);
      assert.match(result.stderr, /^bulkhead: /);
      assert.match(result.stderr, message);
      assertNoStackTrace(result);
    });
  }
});

Deno.test("cli exits 3 when the plugin fails to start", async (t) => {
  const cases: [string, string[], RegExp][] = [
    ["exits at once", ["--", "/bin/true"], /Plugin "true" exited before its handshake/],
    ["prints a line and exits", ["--", "/bin/echo", "hello"], /"echo"/],
    [
      "not a plugin",
      ["--", "sh", "-c", "echo hello; sleep 5"],
      /"sh".*printed to stdout before its handshake.*print logs to stderr.*"hello"/,
    ],
    [
      "no such command",
      ["--", "/nonexistent/plugin-x"],
      /Plugin "plugin-x" exited before it started/,
    ],
    ["no such module", ["--", "examples/nope.ts"], /Cannot start plugin "examples\/nope\.ts"/],
    ["wrong cookie", ["--cookie", "APP_PLUGIN=x", "--", GREETER], /Plugin "greeter" exited/],
    [
      "silent",
      ["--timeout", "300", "--", "sleep", "5"],
      /"sleep": no handshake line within 300 ms/,
    ],
  ];
  for (const [name, args, message] of cases) {
    await t.step(name, async () => {
      const result = await cli(["health", "--quiet", ...args]);
      assert.equal(result.code, 3, `${result.stdout}${result.stderr}`);
      assert.equal(result.stdout, "");
      assert.match(result.stderr, /^bulkhead: /);
      assert.match(result.stderr, message);
      assertNoStackTrace(result);
    });
  }
});

/** Writes a greeter plugin whose Greet crashes (name "crash") or hangs (any other name). */
async function writeFaultyGreeter(dir: string): Promise<string> {
  const path = `${dir}/faulty_greeter.ts`;
  const mod = new URL("../../plugin.ts", import.meta.url).href;
  const gen =
    new URL("../../src/gen/bulkhead/examples/greeter/v1/greeter_pb.ts", import.meta.url).href;
  await Deno.writeTextFile(
    path,
    `import { serve, service } from "${mod}";
import { GreeterService } from "${gen}";
await serve({
  services: [service(GreeterService, {
    async greet({ name }) {
      if (name === "crash") {
        console.error("going down");
        Deno.exit(7);
      }
      await new Promise(() => {});
      return { greeting: "" };
    },
  })],
});
`,
  );
  return path;
}

Deno.test("cli exits 4 when the plugin dies during the call", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const plugin = await writeFaultyGreeter(dir);
    const result = await cli(["call", "-q", GREET, '{"name":"crash"}', "--", plugin]);
    assert.equal(result.code, 4, result.stderr);
    assert.match(
      result.stderr,
      /^bulkhead: Plugin "faulty_greeter" exited while in use with exit code 7; last stderr lines:\n {2}going down$/m,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli call gives up after --rpc-timeout with DEADLINE_EXCEEDED", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const plugin = await writeFaultyGreeter(dir);
    const result = await cli(["call", "--rpc-timeout", "300", GREET, "--", plugin]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /^bulkhead: DEADLINE_EXCEEDED: /m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli stops the plugin and exits 130 when interrupted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const plugin = await writeFaultyGreeter(dir);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "cli.ts", "call", "-q", GREET, "--", plugin],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    // wait until the plugin runs, then a little for the call to reach it and hang
    const output = child.output();
    const deadline = Date.now() + 10_000;
    while (!(await pluginRunning(plugin)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGINT");
    const { code, stderr } = await output;
    assert.equal(code, 130, new TextDecoder().decode(stderr));
    assert.match(new TextDecoder().decode(stderr), /interrupted; the plugin was stopped/);
    assert.equal(await pluginRunning(plugin), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Whether a plugin process runs the given module (Linux /proc): a `deno run`
 * with the host's `--cached-only`, not the CLI whose arguments also name it.
 */
async function pluginRunning(module: string): Promise<boolean> {
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const args = (await Deno.readTextFile(`/proc/${entry.name}/cmdline`)).split("\0");
      if (
        args[1] === "run" && args.includes("--cached-only") &&
        args.some((arg) => arg.endsWith(module))
      ) return true;
    } catch {
      // the process is gone
    }
  }
  return false;
}

Deno.test("cli --help works on every command", async (t) => {
  for (const args of [["--help"], ["-h"], ["help"], []]) {
    await t.step(args.join(" ") || "(no arguments)", async () => {
      const result = await cli(args);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /bulkhead health/);
      assert.match(result.stdout, /Exit codes:\n {2}0 /);
    });
  }
  for (const command of ["health", "inspect", "call", "version"]) {
    await t.step(command, async () => {
      const result = await cli([command, "--help"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`^bulkhead ${command} — `));
      assert.match(result.stdout, /Usage:/);
    });
  }
});

Deno.test("cli version prints the version from deno.json", async () => {
  const result = await cli(["version"]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, `bulkhead ${denoJson.version}\n`);
});

Deno.test("cli inspect applies and shows resource limits", async () => {
  const result = await cli(["inspect", "--heap-mb", "128", "--open-files", "256", "--", GREETER]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /limits: heap 128 MiB, 256 open files$/m);
  const bad = await cli(["inspect", "--heap-mb", "lots", "--", GREETER]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--heap-mb must be a positive whole number/);
});
