import assert from "node:assert/strict";
import { dirname } from "node:path";

const repo = new URL("../..", import.meta.url);

// A host of the user's own: it imports mod.ts by file URL and starts the
// greeter example; it prints the greeting, or the error's name and missing flags.
const HOST = `import { HostPermissionError, Plugin } from "${new URL("mod.ts", repo).href}";
import { GreeterService } from "${
  new URL("src/gen/bulkhead/examples/greeter/v1/greeter_pb.ts", repo).href
}";
try {
  await using plugin = await Plugin.start({
    module: "${new URL("examples/greeter/plugin.ts", repo).href}",
    logger: () => {},
  });
  console.log((await plugin.client(GreeterService).greet({ name: "Ada" })).greeting);
} catch (error) {
  if (!(error instanceof HostPermissionError)) throw error;
  console.log(error.name, JSON.stringify(error.missing));
}
`;

async function runHost(dir: string, flags: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "--no-prompt", ...flags, `${dir}/host.ts`],
    cwd: dir,
    clearEnv: true,
    // deno on PATH, so --allow-run=deno names the deno that runs the host
    env: { PATH: `${dirname(Deno.execPath())}:/usr/bin:/bin`, TMPDIR: `${dir}/tmp`, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
}

Deno.test("a host runs a sandboxed plugin with narrow flags, and says at once which it lacks", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "bulkhead-host-perms-" });
  try {
    await Deno.mkdir(`${dir}/tmp`);
    await Deno.writeTextFile(`${dir}/host.ts`, HOST);
    const tmp = `${dir}/tmp`;
    const narrow = [
      `--allow-read=${tmp}`,
      `--allow-write=${tmp}`,
      "--allow-run=deno,/bin/sh",
      "--allow-net",
    ];
    await t.step("the documented flags are enough", async () => {
      const { code, out, err } = await runHost(dir, narrow);
      assert.equal(code, 0, err);
      assert.equal(out, "Hello, Ada!\n");
    });
    await t.step("without --allow-net: HostPermissionError, not a handshake timeout", async () => {
      const { code, out, err } = await runHost(dir, narrow.filter((f) => f !== "--allow-net"));
      assert.equal(code, 0, err);
      assert.equal(out, 'HostPermissionError ["--allow-net"]\n');
    });
    await t.step("without --allow-run: it names deno and /bin/sh", async () => {
      const { out } = await runHost(dir, narrow.filter((f) => !f.startsWith("--allow-run")));
      assert.match(out, /^HostPermissionError \["--allow-run=[^,"]*deno,\/bin\/sh"\]\n$/);
    });
    await t.step("with nothing: it names the socket directory's read and write", async () => {
      const { out } = await runHost(dir, []);
      // it may not read TMPDIR either: a shell expression for it
      const tmpdir = "${TMPDIR:-/tmp}";
      assert.equal(
        out,
        `HostPermissionError ["--allow-read=${tmpdir}","--allow-write=${tmpdir}"]\n`,
      );
    });
    await t.step("with env access, the directory itself", async () => {
      const { out } = await runHost(dir, ["--allow-env=TMPDIR"]);
      assert.equal(out, `HostPermissionError ["--allow-read=${tmp}","--allow-write=${tmp}"]\n`);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
