import assert from "node:assert/strict";
import {
  bwrapArgs,
  executableEscapes,
  isSystemPath,
  NETWORK_ETC,
  type SandboxSpec,
  SYSTEM_ETC,
  systemLayout,
} from "../../src/host/bwrap.ts";
import { resolveExecutable, visiblePaths } from "../../src/host/_exec_sandbox.ts";

const SPEC: SandboxSpec = {
  command: "/opt/kv/kv-go",
  args: ["--verbose"],
  socketDir: "/tmp/bulkhead-abc",
  cwd: "/srv/app",
  permissions: {},
  visible: ["/opt/kv"],
  system: [
    { path: "/usr", kind: "dir" },
    { path: "/bin", kind: "symlink", target: "usr/bin" },
    { path: "/lib64", kind: "symlink", target: "usr/lib64" },
  ],
};

/** The arguments as `option operand…` strings, one per option, up to `--`. */
function options(args: string[]): string[] {
  const out: string[] = [];
  for (const arg of args.slice(0, args.indexOf("--"))) {
    if (arg.startsWith("--")) out.push(arg);
    else out[out.length - 1] += ` ${arg}`;
  }
  return out;
}

Deno.test("bwrapArgs() unshares every namespace, the network too, and dies with its parent", () => {
  const opts = options(bwrapArgs(SPEC));
  for (
    const flag of [
      "--unshare-user",
      "--unshare-pid",
      "--unshare-ipc",
      "--unshare-uts",
      "--unshare-cgroup-try",
      "--unshare-net",
      "--die-with-parent",
      "--new-session",
      "--cap-drop ALL",
      "--hostname bulkhead-sandbox",
    ]
  ) {
    assert.ok(opts.includes(flag), `${flag} missing from ${opts.join(" ")}`);
  }
  // bwrap stays the namespace's init (no --as-pid-1): it reaps, and its death ends everything
  assert.ok(!opts.includes("--as-pid-1"));
});

Deno.test("bwrapArgs() shows the system read-only, as the host lays it out, and nothing else", () => {
  const opts = options(bwrapArgs(SPEC));
  assert.ok(opts.includes("--ro-bind /usr /usr"));
  assert.ok(opts.includes("--symlink usr/bin /bin"));
  assert.ok(opts.includes("--symlink usr/lib64 /lib64"));
  for (const file of SYSTEM_ETC) assert.ok(opts.includes(`--ro-bind-try ${file} ${file}`));
  for (const file of NETWORK_ETC) assert.ok(!opts.some((o) => o.includes(file)), file);
  assert.ok(opts.includes("--dev /dev"));
  assert.ok(opts.includes("--proc /proc"));
  assert.ok(opts.includes("--tmpfs /tmp"));
  assert.ok(opts.includes("--ro-bind-try /opt/kv /opt/kv"));
  assert.ok(!opts.some((o) => o.startsWith("--ro-bind / ") || o.startsWith("--bind / ")));
  assert.ok(!opts.includes("--ro-bind-try /etc /etc"));
  const binds = opts.filter((o) => /^--(ro-)?bind/.test(o)).map((o) => o.split(" ")[1]);
  assert.deepEqual(binds, ["/usr", ...SYSTEM_ETC, "/opt/kv", "/tmp/bulkhead-abc"]);
});

Deno.test("bwrapArgs() binds the socket directory read-write after the private /tmp it lives in", () => {
  const opts = options(bwrapArgs(SPEC));
  const tmp = opts.indexOf("--tmpfs /tmp");
  const socket = opts.indexOf("--bind /tmp/bulkhead-abc /tmp/bulkhead-abc");
  assert.ok(tmp >= 0 && socket > tmp);
});

Deno.test("bwrapArgs() turns read and write grants into binds, relative ones against cwd", () => {
  const opts = options(bwrapArgs({
    ...SPEC,
    permissions: { read: ["data", "/etc/app.conf"], write: ["out", "/var/spool/app"] },
  }));
  assert.ok(opts.includes("--ro-bind-try /srv/app/data /srv/app/data"));
  assert.ok(opts.includes("--ro-bind-try /etc/app.conf /etc/app.conf"));
  assert.ok(opts.includes("--bind-try /srv/app/out /srv/app/out"));
  assert.ok(opts.includes("--bind-try /var/spool/app /var/spool/app"));
  // grants land on top of the private /tmp
  assert.ok(opts.indexOf("--tmpfs /tmp") < opts.indexOf("--bind-try /srv/app/out /srv/app/out"));
});

Deno.test("bwrapArgs() ends with the working directory and the command line", () => {
  const args = bwrapArgs(SPEC);
  assert.deepEqual(args.slice(-7), [
    "--dir",
    "/srv/app",
    "--chdir",
    "/srv/app",
    "--",
    "/opt/kv/kv-go",
    "--verbose",
  ]);
  const atRoot = bwrapArgs({ ...SPEC, cwd: "/" });
  assert.ok(!atRoot.includes("--dir"));
  assert.deepEqual(atRoot.slice(-5), ["--chdir", "/", "--", "/opt/kv/kv-go", "--verbose"]);
});

Deno.test("bwrapArgs() shares the host's network for any net grant: all or nothing", async (t) => {
  for (const net of [true, ["api.example.com:443"]] as const) {
    await t.step(JSON.stringify(net), () => {
      const opts = options(bwrapArgs({ ...SPEC, permissions: { net } }));
      assert.ok(!opts.includes("--unshare-net"));
      for (const file of NETWORK_ETC) assert.ok(opts.includes(`--ro-bind-try ${file} ${file}`));
    });
  }
  assert.ok(options(bwrapArgs({ ...SPEC, permissions: { net: [] } })).includes("--unshare-net"));
  assert.ok(options(bwrapArgs({ ...SPEC, permissions: { net: false } })).includes("--unshare-net"));
});

Deno.test("bwrapArgs() with read or write everything binds / first and keeps the host's /tmp", () => {
  const read = options(bwrapArgs({ ...SPEC, permissions: { read: true } }));
  assert.equal(read.findIndex((o) => o.startsWith("--ro-bind / /")), read.indexOf("--ro-bind / /"));
  assert.ok(read.indexOf("--ro-bind / /") < read.indexOf("--ro-bind /usr /usr"));
  assert.ok(!read.includes("--tmpfs /tmp"));
  const write = options(bwrapArgs({ ...SPEC, permissions: { write: true } }));
  assert.ok(write.includes("--bind / /"));
  assert.ok(!write.includes("--ro-bind / /"));
});

Deno.test("bwrapArgs() refuses an empty grant", () => {
  assert.throws(() => bwrapArgs({ ...SPEC, permissions: { read: [""] } }), TypeError);
});

Deno.test("executableEscapes() names net (all or nothing) and read/write everything", () => {
  assert.deepEqual(executableEscapes({}), []);
  assert.deepEqual(executableEscapes({ read: ["/data"], write: ["/out"], unsafeRun: true }), []);
  assert.match(executableEscapes({ net: true })[0]!, /connect anywhere/);
  assert.match(executableEscapes({ net: ["a:1"] })[0]!, /all or nothing/);
  assert.match(executableEscapes({ write: true })[0]!, /write any file/);
  assert.match(executableEscapes({ read: true })[0]!, /read any file/);
});

Deno.test("systemLayout() reads this host's system directories as they are", () => {
  const layout = systemLayout();
  const usr = layout.find((e) => e.path === "/usr");
  assert.deepEqual(usr, { path: "/usr", kind: "dir" });
  for (const entry of layout) {
    const info = Deno.lstatSync(entry.path);
    assert.equal(entry.kind === "symlink", info.isSymlink, entry.path);
    if (entry.kind === "symlink") assert.equal(entry.target, Deno.readLinkSync(entry.path));
  }
});

Deno.test("isSystemPath() covers the system directories only", () => {
  assert.ok(isSystemPath("/usr/bin/python3"));
  assert.ok(isSystemPath("/bin"));
  assert.ok(!isSystemPath("/usrlocal/x"));
  assert.ok(!isSystemPath("/opt/kv/kv-go"));
});

Deno.test("resolveExecutable() resolves paths against cwd and bare names on PATH", () => {
  assert.equal(resolveExecutable("sh", "/", "/nonexistent:/bin"), "/bin/sh");
  assert.equal(resolveExecutable("./sh", "/bin", ""), "/bin/sh");
  assert.equal(resolveExecutable("no-such-command-here", "/", "/usr/bin:/bin"), undefined);
  assert.equal(resolveExecutable("/nonexistent/kv", "/", "/bin"), undefined);
});

Deno.test("visiblePaths() shows the executable's directory, an interpreter's script's, and a chosen cwd", () => {
  const here = new URL(".", import.meta.url).pathname.replace(/\/$/, "");
  const script = new URL(import.meta.url).pathname;
  assert.deepEqual(visiblePaths("/usr/bin/python3", [script], "/", false), [here]);
  assert.deepEqual(visiblePaths("/usr/bin/python3", ["-u", script], "/", false), [here]);
  // no such script: nothing more to show
  assert.deepEqual(visiblePaths("/usr/bin/python3", ["/nonexistent/p.py"], "/", false), []);
  // not an interpreter: its arguments are not paths to show
  assert.deepEqual(visiblePaths("/opt/kv/kv-go", [script], "/", false), ["/opt/kv"]);
  assert.deepEqual(visiblePaths("/opt/kv/kv-go", [], "/srv/app", true), ["/opt/kv", "/srv/app"]);
});
