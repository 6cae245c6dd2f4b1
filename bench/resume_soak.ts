/**
 * Resume soak (issue #13: delivery you can trust): 1 000 000 messages from
 * a file through examples/crashy (it segfaults every 7 919 messages it
 * sees) to a file, with the pipeline host (`cli.ts run`) SIGKILLed 5 times
 * — each time once the output file has passed the next mark, so every kill
 * lands mid-run — and `bulkhead run --resume` after each. Then the output
 * is compared with the input, upper-cased, line by line, and the figures
 * printed: lines lost, duplicated, torn (not a whole expected line), and
 * whether the bytes are identical. Not asserted; not in CI.
 *
 * Run: `deno task soak:resume [messages] [kills]` (default 1000000 5).
 *
 * @module
 */
const count = Number(Deno.args[0] ?? 1_000_000);
const kills = Number(Deno.args[1] ?? 5);
const root = new URL("..", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "bulkhead-resume-soak-" });

function sizeOf(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}

try {
  const input = Array.from({ length: count }, (_, i) => `message ${i + 1}\n`).join("");
  await Deno.writeTextFile(`${dir}/in.txt`, input);
  const expected = input.toUpperCase();
  await Deno.writeTextFile(
    `${dir}/pipeline.yaml`,
    `
input: { file: { path: in.txt } }
batching: { count: 100 }
max_in_flight: 4
processors:
  - plugin:
      module: ${root}examples/crashy/plugin.ts
      permissions: { unsafe_ffi: true }
      config: { every: 7919 }
      restart: { max_crashes: 10000, initial_delay: 10ms }
output: { file: { path: out.txt } }
dead_letter: { file: { path: dead.jsonl } }
`,
  );
  const out = `${dir}/out.txt`;
  const marks = Array.from(
    { length: kills },
    (_, k) => Math.floor(expected.length * (k + 1) / (kills + 1)),
  );
  const started = performance.now();
  let killed = 0;
  const notices: string[] = [];
  for (let run = 0;; run++) {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${root}cli.ts`,
        "run",
        "--quiet",
        ...(run ? ["--resume"] : []),
        `${dir}/pipeline.yaml`,
      ],
      env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const done = Promise.all([child.status, new Response(child.stderr).text()]);
    let exited = false;
    done.then(() => exited = true, () => exited = true);
    const mark = marks[run];
    if (mark !== undefined) {
      while (!exited && sizeOf(out) < mark) await new Promise((r) => setTimeout(r, 10));
      if (!exited) {
        child.kill("SIGKILL");
        killed++;
        console.log(`run ${run + 1}: SIGKILL at ${sizeOf(out)} bytes of output`);
      }
    }
    const [status, stderr] = await done;
    for (const line of stderr.split("\n")) {
      if (line.startsWith("bulkhead: ")) {
        notices.push(line);
        console.log(`  ${line}`);
      }
    }
    if (mark === undefined || !status.signal) {
      console.log(`run ${run + 1}: exited with code ${status.code}`);
      break;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const got = await Deno.readTextFile(out);
  const wanted = new Set(expected.split("\n").filter((l) => l !== ""));
  const seen = new Map<string, number>();
  let torn = 0;
  for (const line of got.split("\n")) {
    if (line === "") continue;
    if (!wanted.has(line)) torn++;
    else seen.set(line, (seen.get(line) ?? 0) + 1);
  }
  let duplicated = 0;
  for (const n of seen.values()) duplicated += n - 1;
  const lost = wanted.size - seen.size;
  const dead = (await Deno.readTextFile(`${dir}/dead.jsonl`).catch(() => "")).split("\n")
    .filter((l) => l !== "").length;
  console.log(
    JSON.stringify({
      messages: count,
      kills: killed,
      seconds: Math.round(seconds),
      lost,
      duplicated,
      torn,
      deadLettered: dead,
      byteIdentical: got === expected,
    }),
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
