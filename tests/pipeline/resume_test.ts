/**
 * Delivery you can trust across host crashes: the pipeline host
 * (`deno run -A cli.ts run …`) is SIGKILLed while it writes, several times,
 * each time once its output file has grown past a mark (the file is
 * watched, no timing is guessed), then run again with `--resume`. The
 * output must end byte-identical to an uninterrupted run's: nothing lost,
 * nothing written twice, no torn line.
 *
 * @module
 */
import assert from "node:assert/strict";
import { CheckpointError, runPipeline } from "../../mod.ts";
import { config, EXAMPLES, lines, tempDir } from "./_pipeline.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

function sizeOf(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}

/** Starts the host; resolves its exit status and stderr. */
function startHost(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "run", ...args],
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(300_000), // a safety net; verdicts come from the files
  }).spawn();
  const stderr = new Response(child.stderr).text();
  return { child, done: Promise.all([child.status, stderr]) };
}

/**
 * Runs `pipeline` to its end, killing the host with SIGKILL whenever the
 * output passes the next of `marks` (bytes) and resuming it; returns how
 * many runs were killed and what the resumed runs said.
 */
async function runWithKills(
  pipeline: string,
  output: string,
  marks: number[],
): Promise<{ kills: number; notices: string[] }> {
  let kills = 0;
  const notices: string[] = [];
  for (let run = 0;; run++) {
    const mark = marks[run];
    const { child, done } = startHost([...(run === 0 ? [] : ["--resume"]), "--quiet", pipeline]);
    let exited = false;
    done.then(() => exited = true, () => exited = true);
    if (mark !== undefined) {
      while (!exited && sizeOf(output) < mark) await new Promise((r) => setTimeout(r, 10));
      if (!exited) {
        child.kill("SIGKILL");
        kills++;
      }
    }
    const [status, stderr] = await done;
    notices.push(...stderr.split("\n").filter((l) => l.startsWith("bulkhead: ")));
    if (mark === undefined || !status.signal) {
      assert.equal(status.code, 0, stderr);
      return { kills, notices };
    }
  }
}

Deno.test("bulkhead run --resume: 50 000 messages through a segfaulting plugin, the host SIGKILLed 3 times mid-run, arrive once each", async () => {
  await using dir = await tempDir();
  const count = 50_000;
  const input = Array.from({ length: count }, (_, i) => `message ${i + 1}\n`).join("");
  await Deno.writeTextFile(`${dir.path}/in.txt`, input);
  const expected = input.toUpperCase();
  await Deno.writeTextFile(
    `${dir.path}/pipeline.yaml`,
    `
input: { file: { path: in.txt } }
batching: { count: 100 }
max_in_flight: 4
processors:
  - plugin:
      module: ${EXAMPLES}crashy/plugin.ts
      permissions: { unsafe_ffi: true }
      config: { every: 4999 }
      restart: { max_crashes: 1000, initial_delay: 10ms }
output: { file: { path: out.txt } }
dead_letter: { file: { path: dead.jsonl } }
`,
  );
  const out = `${dir.path}/out.txt`;
  const marks = [0.2, 0.45, 0.7].map((f) => Math.floor(expected.length * f));
  const { kills, notices } = await runWithKills(`${dir.path}/pipeline.yaml`, out, marks);
  assert.equal(kills, 3, notices.join("\n"));
  const got = await Deno.readTextFile(out);
  if (got !== expected) {
    const lines = got.split("\n").filter((l) => l !== "");
    const unique = new Set(lines);
    assert.fail(
      `output differs: ${lines.length} lines, ${unique.size} distinct, ` +
        `${count - unique.size} lost, ${lines.length - unique.size} duplicated`,
    );
  }
  assert.equal(await Deno.readTextFile(`${dir.path}/dead.jsonl`), "");
  assert.ok(
    notices.filter((n) => /resuming after \d+ input messages/.test(n)).length >= 3,
    notices.join("\n"),
  );
});

Deno.test("bulkhead run --resume: 65 KB messages, the host SIGKILLed mid-write 4 times: no torn line survives", async () => {
  await using dir = await tempDir();
  const count = 300;
  const line = (n: number) => `${n}:`.padEnd(65_000, "x") + "\n";
  const input = Array.from({ length: count }, (_, i) => line(i + 1)).join("");
  await Deno.writeTextFile(`${dir.path}/in.txt`, input);
  await Deno.writeTextFile(
    `${dir.path}/pipeline.yaml`,
    `
input: { file: { path: in.txt } }
batching: { count: 10 }
output: { file: { path: out.txt } }
`,
  );
  const out = `${dir.path}/out.txt`;
  const marks = [0.15, 0.35, 0.55, 0.75].map((f) => Math.floor(input.length * f));
  const { kills, notices } = await runWithKills(`${dir.path}/pipeline.yaml`, out, marks);
  assert.ok(kills >= 1, notices.join("\n"));
  const got = await Deno.readTextFile(out);
  assert.equal(got.length, input.length, notices.join("\n"));
  assert.ok(got === input, "the output differs from the input");
});

Deno.test("runPipeline({ resume }) continues a stopped generate run after its checkpoint", async () => {
  await using dir = await tempDir();
  const yaml = `
input: { generate: { count: 3000, rate: 3000, message: "m\${! i }" } }
batching: { count: 50, period: 20ms }
output: { file: { path: out.txt } }
`;
  const out = `${dir.path}/out.txt`;
  const stop = new AbortController();
  const watch = setInterval(() => {
    if (sizeOf(out) >= 3000) stop.abort(); // some 600 lines
  }, 10);
  const first = await runPipeline(config(yaml, dir.path), { signal: stop.signal });
  clearInterval(watch);
  assert.equal(first.status, "stopped", first.error);
  assert.ok(first.messagesOut > 0 && first.messagesOut < 3000, String(first.messagesOut));
  const checkpoint = JSON.parse(await Deno.readTextFile(`${out}.checkpoint`));
  assert.equal(checkpoint.consumed, first.messagesOut);
  assert.equal(checkpoint.outputBytes, sizeOf(out));
  const notices: string[] = [];
  const second = await runPipeline(config(yaml, dir.path), {
    resume: true,
    onNotice: (text) => notices.push(text),
  });
  assert.equal(second.status, "completed", second.error);
  assert.equal(second.messagesIn, 3000 - first.messagesOut);
  assert.deepEqual(notices, [
    `resuming after ${first.messagesOut} input messages (${out}.checkpoint)`,
  ]);
  assert.deepEqual(await lines(out), Array.from({ length: 3000 }, (_, i) => `m${i + 1}`));
});

Deno.test("runPipeline({ resume }) refuses what it cannot resume, saying why", async (t) => {
  await using dir = await tempDir();
  const out = `${dir.path}/out.txt`;
  await t.step("an output with content and no checkpoint", async () => {
    await Deno.writeTextFile(out, "m1\n");
    const error = await runPipeline(
      config(`input: { generate: { count: 3 } }\noutput: { file: { path: out.txt } }\n`, dir.path),
      { resume: true },
    ).catch((e) => e);
    assert.ok(error instanceof CheckpointError, String(error));
    assert.match(error.message, /there is none, and .*out\.txt already holds 3 bytes/);
  });
  await t.step("a checkpoint of another input", async () => {
    await Deno.writeTextFile(`${dir.path}/in.txt`, "a\n");
    await Deno.writeTextFile(
      `${out}.checkpoint`,
      JSON.stringify({ version: 1, input: "generate", consumed: 1, outputBytes: 3 }),
    );
    const error = await runPipeline(
      config(`input: { file: { path: in.txt } }\noutput: { file: { path: out.txt } }\n`, dir.path),
      { resume: true },
    ).catch((e) => e);
    assert.ok(error instanceof CheckpointError, String(error));
    assert.match(error.message, /it is of input "generate", not "file .*in\.txt"/);
  });
  await t.step("an output that is not a file", async () => {
    const error = await runPipeline(
      config(`input: { generate: { count: 3 } }\noutput: drop\n`, dir.path),
      { resume: true },
    ).catch((e) => e);
    assert.ok(error instanceof CheckpointError, String(error));
    assert.match(error.message, /--resume needs a file output and a file or generate input/);
  });
});
