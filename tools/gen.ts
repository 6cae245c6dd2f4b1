/**
 * Generates protobuf-es code from `proto/` into `src/gen/` (or into the
 * directory given as the first argument, for the drift test), then points
 * the generated imports at the pinned modules in `src/npm/`.
 *
 * Usage: `deno task gen [outDir]`
 *
 * @module
 */
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { BUF_VERSION } from "../src/npm/versions.ts";

const root = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");

const rewrites: Record<string, string> = {
  "@bufbuild/protobuf": "src/npm/protobuf.ts",
  "@bufbuild/protobuf/codegenv2": "src/npm/protobuf_codegenv2.ts",
  "@bufbuild/protobuf/wkt": "src/npm/protobuf_wkt.ts",
};

/** Runs buf, then rewrites imports; returns the generated file paths. */
export async function generate(outBase: string): Promise<string[]> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `npm:@bufbuild/buf@${BUF_VERSION}`, "generate", "-o", outBase],
    cwd: root,
    env: { NO_COLOR: "1", PATH: `${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? ""}` },
    stdout: "inherit",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(
      `Cannot generate code: buf exited with ${code}\n${new TextDecoder().decode(stderr)}`,
    );
  }
  const genDir = join(outBase, "src/gen");
  const files: string[] = [];
  for await (const path of walk(genDir)) {
    const fileDir = dirname(relative(genDir, path));
    let text = await Deno.readTextFile(path);
    text = text.replace(/from "(@bufbuild\/protobuf(?:\/[a-z0-9]+)?)";/g, (match, spec: string) => {
      const target = rewrites[spec];
      if (target === undefined) return match;
      let rel = relative(join(root, "src/gen", fileDir), join(root, target));
      if (!rel.startsWith(".")) rel = `./${rel}`;
      return `from "${rel}";`;
    });
    await Deno.writeTextFile(path, text);
    files.push(path);
  }
  return files.sort();
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* walk(path);
    else if (entry.isFile) yield path;
  }
}

if (import.meta.main) {
  const out = Deno.args[0] ?? root;
  if (out === root) await Deno.remove(join(root, "src/gen"), { recursive: true }).catch(() => {});
  const files = await generate(out);
  console.log(`generated ${files.length} files`);
}
