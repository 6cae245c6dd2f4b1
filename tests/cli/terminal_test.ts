/**
 * `bulkhead run` on a real terminal (tmux, at 80 and 200 columns): the live
 * progress line fits the width and is redrawn in place, plugin log lines
 * appear above it and never glued to it; the first Ctrl-C says what it
 * drains, the second what was not delivered.
 *
 * Every wait is for something to appear on the screen (with a generous
 * deadline as a safety net), never for a time to pass.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ROOT } from "./_cli.ts";

const noTmux = new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" })
  .output().then((o) => o.success ? undefined : "tmux -V failed", () => "tmux is not installed");
const skip = await noTmux;

async function tmux(...args: string[]): Promise<string> {
  const { success, stdout, stderr } = await new Deno.Command("tmux", { args }).output();
  if (!success) throw new Error(`tmux ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
  return new TextDecoder().decode(stdout);
}

/** The screen's rows, wrapped rows joined (a row longer than the width shows as such). */
async function screen(session: string): Promise<string[]> {
  return (await tmux("capture-pane", "-p", "-J", "-t", session)).split("\n");
}

async function waitFor(session: string, pattern: RegExp, what: string): Promise<string[]> {
  const deadline = Date.now() + 60_000; // a safety net: the verdict is the screen's content
  for (;;) {
    const rows = await screen(session);
    if (rows.some((row) => pattern.test(row))) return rows;
    if (Date.now() > deadline) {
      throw new Error(`never saw ${what}; the screen:\n${rows.join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function withPipeline(
  columns: number,
  messages: string,
  fn: (session: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const session = `bulkhead-test-${Deno.pid}-${columns}`;
  try {
    await Deno.writeTextFile(
      `${dir}/pipeline.yaml`,
      `input: { generate: { count: 100000, rate: 20, messages: ${messages} } }
batching: { count: 1 }
processors:
  - plugin: { module: ${ROOT}tests/cli/fixtures/chatty_plugin.ts, name: chatty-with-a-long-name, timeout: 10m }
output: drop
`,
    );
    const command =
      `cd ${ROOT} && NO_COLOR=1 ${Deno.execPath()} run -A cli.ts run ${dir}/pipeline.yaml; ` +
      "echo EXITED $?; sleep 600";
    await tmux("new-session", "-d", "-s", session, "-x", String(columns), "-y", "30", command);
    await fn(session);
  } finally {
    await tmux("kill-session", "-t", session).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

for (const columns of [80, 200]) {
  Deno.test({
    name: `run at ${columns} columns: the live line fits, log lines go above it${
      skip ? ` [skipped: ${skip}]` : ""
    }`,
    ignore: skip !== undefined,
    fn: () =>
      withPipeline(columns, '["m${! i }"]', async (session) => {
        // three log lines and the progress line under them
        await waitFor(session, /\[chatty-with-a-long-name\] chatty: batch 3 /, "three log lines");
        const rows = await waitFor(session, /^in [\d,]+ \(.*\/s\) · out /, "the progress line");
        for (const row of rows) {
          // a log line starts its own row, never glued to the end of the progress line
          assert.ok(
            !/\/s\).*\[chatty/.test(row),
            `a log line glued to the progress line:\n${rows.join("\n")}`,
          );
        }
        const progressRows = rows.filter((row) => /^in [\d,]+ \(/.test(row));
        assert.equal(progressRows.length, 1, `the line is redrawn in place:\n${rows.join("\n")}`);
        // (a log line may wrap; the progress line, redrawn in place, must not)
        assert.ok(
          [...progressRows[0]!].length < columns,
          `wider than ${columns}: ${progressRows[0]}`,
        );
        assert.match(progressRows[0]!, /batch(es)? in flight/);
        if (columns === 80) assert.match(progressRows[0]!, /…$/); // cut to the width
      }),
  });
}

Deno.test({
  name: `run: the first Ctrl-C drains and says how much, the second stops and says what was lost${
    skip ? ` [skipped: ${skip}]` : ""
  }`,
  ignore: skip !== undefined,
  fn: () =>
    withPipeline(80, '["m${! i }", "hold"]', async (session) => {
      // the plugin holds the batch "hold": draining cannot finish on its own
      await waitFor(session, /chatty: batch 2 of 1/, "the held batch");
      await waitFor(session, /^in [\d,]+ \(/, "the progress line");
      await tmux("send-keys", "-t", session, "C-c");
      await waitFor(
        session,
        /^bulkhead: stopping: draining \d+ batch(es)? — Ctrl-C again to stop now$/,
        "the first Ctrl-C's notice",
      );
      await tmux("send-keys", "-t", session, "C-c");
      const rows = await waitFor(session, /^EXITED \d+/, "the exit");
      const text = rows.join("\n");
      assert.match(
        text,
        /^bulkhead: stopped at once: \d+ messages? in \d+ batch(es)? not delivered \(read but not written; the input was not acknowledged for them\)$/m,
      );
      assert.match(text, /^EXITED 130$/m);
    }),
});
