import assert from "node:assert/strict";
import { ROOT } from "./_cli.ts";
import { tempDir } from "../pipeline/_pipeline.ts";
import { COUNT, expectedOutput, TEMPLATE, writeUpper } from "../pipeline/_upgrade.ts";

/** Lines `from`..`to` (inclusive, from 1) of the input, as the generate template makes them. */
function inputLines(from: number, to: number): string {
  let text = "";
  for (let i = from; i <= to; i++) text += `${TEMPLATE.replace("${! i }", String(i))}\n`;
  return text;
}

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
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}cli.ts`, "run", "--watch", `${dir.path}/pipeline.yaml`],
    cwd: dir.path,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
  }).spawn();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const readOut = (async () => {
    let text = "";
    for (let r = await stdout.read(); !r.done; r = await stdout.read()) text += r.value;
    return text;
  })();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const waitErr = async (pattern: RegExp) => {
    while (!pattern.test(seen)) {
      const { value, done } = await stderr.read();
      if (done) throw new Error(`stderr ended before ${pattern}; got:\n${seen}`);
      seen += value;
    }
  };
  const writer = child.stdin.getWriter();
  const write = (text: string) => writer.write(new TextEncoder().encode(text));
  try {
    await waitErr(/watching plugin files/);
    await write(inputLines(1, 40_000));
    // a change of the plugin file: reloaded while lines keep coming
    await writeUpper(`${dir.path}/upper.ts`, "v2");
    await write(inputLines(40_001, 70_000));
    await waitErr(/reloaded "[^"]+"/);
    // SIGHUP: every plugin processor reloaded, while lines keep coming
    child.kill("SIGHUP");
    await write(inputLines(70_001, COUNT));
    await waitErr(/reloaded "[^"]+"[^]*reloaded "[^"]+"/);
  } finally {
    await writer.close();
  }
  const { code } = await child.status;
  for (let r = await stderr.read(); !r.done; r = await stderr.read()) seen += r.value;
  await readOut;
  assert.equal(code, 0, seen);
  assert.doesNotMatch(seen, /rolled back|cannot reload/);
  assert.equal(await Deno.readTextFile(`${dir.path}/out.txt`), expectedOutput());
  assert.equal(await Deno.readTextFile(`${dir.path}/dead.jsonl`), "");
  for (const line of seen.match(/reloaded "[^"]+".*/g) ?? []) console.log(`cli: ${line}`);
});
