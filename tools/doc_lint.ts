/**
 * `deno doc --lint` for our own code. Types re-exported from npm packages
 * (protobuf-es's `DescService`, Connect's `Client`) drag those packages'
 * declarations into the lint, and their missing JSDoc is not ours to fix:
 * diagnostics located outside this repository are counted but not fatal.
 *
 * Usage: `deno run -A tools/doc_lint.ts mod.ts cli.ts`
 *
 * @module
 */
const root = new URL("..", import.meta.url).pathname;
const { stderr, stdout } = await new Deno.Command(Deno.execPath(), {
  args: ["doc", "--lint", ...Deno.args],
  cwd: root,
  env: { NO_COLOR: "1" },
}).output();
const text = new TextDecoder().decode(stderr) + new TextDecoder().decode(stdout);
const blocks = text.split(/\n(?=error\[)/).filter((b) => b.startsWith("error["));
const ours = blocks.filter((b) => {
  const location = /-->\s+(\S+)/.exec(b)?.[1] ?? "";
  return location.startsWith(root);
});
for (const block of ours) console.error(block.trimEnd() + "\n");
console.error(
  `doc lint: ${ours.length} problem(s) in this repository, ${
    blocks.length - ours.length
  } in npm packages' declarations (ignored)`,
);
if (ours.length > 0) Deno.exit(1);
