import assert from "node:assert/strict";
import { ROOT } from "./_cli.ts";
import { COUNT, expectedOutput, tempDir, TEMPLATE, writeUpper } from "../_upgrade.ts";

/** Lines `from`..`to` (inclusive, from 1) of the input, as the generate template makes them. */
function inputLines(from: number, to: number): string {
  let text = "";
  for (let i = from; i <= to; i++) text += `${TEMPLATE.replace("${! i }", String(i))}\n`;
  return text;
}

/** Starts `bulkhead run --watch` on `dir/pipeline.yaml` (stdin input), with a reader of its stderr. */
function watchRun(dir: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}cli.ts`, "run", "--watch", `${dir}/pipeline.yaml`],
    cwd: dir,
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const seen = { text: "" };
  const writer = child.stdin.getWriter();
  return {
    child,
    seen,
    /** Reads stderr until `pattern` matches what came so far. */
    async waitErr(pattern: RegExp): Promise<void> {
      while (!pattern.test(seen.text)) {
        const { value, done } = await stderr.read();
        if (done) throw new Error(`stderr ended before ${pattern}; got:\n${seen.text}`);
        seen.text += value;
      }
    },
    write: (text: string) => writer.write(new TextEncoder().encode(text)),
    /** Closes stdin and waits for the exit code, reading the rest of stderr. */
    async finish(): Promise<number> {
      await writer.close().catch(() => {});
      const { code } = await child.status;
      for (let r = await stderr.read(); !r.done; r = await stderr.read()) seen.text += r.value;
      return code;
    },
  };
}

Deno.test("bulkhead run --watch rolls back a plugin file that fails to start: the run goes on with the old version", async () => {
  await using dir = await tempDir();
  await writeUpper(`${dir.path}/upper.ts`, "v1");
  await Deno.writeTextFile(
    `${dir.path}/pipeline.yaml`,
    `input: stdin
batching: { count: 100, period: 20ms }
processors:
  - plugin: { module: ./upper.ts }
output: { file: { path: out.txt } }
`,
  );
  const run = watchRun(dir.path);
  try {
    await run.waitErr(/watching plugin files/);
    await run.write(inputLines(1, 500));
    await Deno.writeTextFile(`${dir.path}/upper.ts`, 'throw new Error("v3 cannot start");\n');
    await run.waitErr(/rolled back/);
    await run.write(inputLines(501, 1000));
  } finally {
    const code = await run.finish();
    assert.equal(code, 0, run.seen.text);
  }
  assert.match(run.seen.text, /upgrading to .*upper\.ts/);
  assert.match(
    run.seen.text,
    /Cannot upgrade plugin "[^"]+" to .*upper\.ts: the new version failed to start/,
  );
  const expected = inputLines(1, 1000).toUpperCase();
  assert.equal(await Deno.readTextFile(`${dir.path}/out.txt`), expected);
});

Deno.test("bulkhead run --watch reloads a processor when its file changes, and SIGHUP reloads it again: 100 000 lines out, byte for byte", async () => {
  await using dir = await tempDir();
  await writeUpper(`${dir.path}/upper.ts`, "v1");
  await Deno.writeTextFile(
    `${dir.path}/pipeline.yaml`,
    `input: stdin
batching: { count: 100, period: 20ms }
max_in_flight: 4
processors:
  - plugin:
      module: ./upper.ts
      processes: 2
      config: { hold_ms: 20 }
output: { file: { path: out.txt } }
dead_letter: { file: { path: dead.jsonl } }
`,
  );
  const run = watchRun(dir.path);
  try {
    await run.waitErr(/watching plugin files/);
    await run.write(inputLines(1, 40_000));
    // a change of the plugin file: reloaded while lines keep coming
    await writeUpper(`${dir.path}/upper.ts`, "v2");
    await run.write(inputLines(40_001, 70_000));
    await run.waitErr(/reloaded "[^"]+"/);
    // SIGHUP: every plugin processor reloaded, while lines keep coming
    run.child.kill("SIGHUP");
    await run.write(inputLines(70_001, COUNT));
    await run.waitErr(/reloaded "[^"]+"[^]*reloaded "[^"]+"/);
  } finally {
    const code = await run.finish();
    assert.equal(code, 0, run.seen.text);
  }
  const seen = run.seen.text;
  assert.doesNotMatch(seen, /rolled back|cannot reload/);
  assert.equal(await Deno.readTextFile(`${dir.path}/out.txt`), expectedOutput());
  assert.equal(await Deno.readTextFile(`${dir.path}/dead.jsonl`), "");
  for (const line of seen.match(/reloaded "[^"]+".*/g) ?? []) console.log(`cli: ${line}`);
});
