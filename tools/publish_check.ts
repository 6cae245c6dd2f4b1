/**
 * `deno publish --dry-run`, offline (it needs only Deno's npm cache): the
 * package's slow types, exports and file list, as JSR would check them.
 * One problem is not ours to fix here and is reported, not fatal: the
 * package has no license yet (choosing one is the owners' decision).
 *
 * Usage: `deno run -A tools/publish_check.ts`
 *
 * @module
 */
const root = new URL("..", import.meta.url).pathname;
const { code, stderr, stdout } = await new Deno.Command(Deno.execPath(), {
  args: ["publish", "--dry-run", "--allow-dirty"],
  cwd: root,
  env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
}).output();
const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
const problems = [...text.matchAll(/^error\[([a-z-]+)\]/gm)].map((m) => m[1]!);
const fatal = problems.filter((p) => p !== "missing-license");
if (fatal.length > 0 || (code !== 0 && problems.length === 0)) {
  console.error(text.trimEnd());
  console.error(`publish check: deno publish --dry-run failed (${fatal.join(", ") || code})`);
  Deno.exit(1);
}
console.error(
  problems.includes("missing-license")
    ? "publish check: ok except for the missing license (add one to deno.json before publishing)"
    : "publish check: ok",
);
