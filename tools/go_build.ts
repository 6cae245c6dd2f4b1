/**
 * Builds a Go program of this repository offline, as Debian packages it:
 * GOPATH mode (`GO111MODULE=off`, no module proxy), Go code generated from
 * `proto/` by `protoc --go_out=plugins=grpc` (protoc-gen-go 1.3), libraries
 * from `/usr/share/gocode` (golang-google-grpc-dev and friends). Used by the
 * grpc-go peers of the transport interop tests and of the benchmark.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url)).replace(/\/$/, "");

/** What {@linkcode buildGoProgram} builds. */
export interface GoProgram {
  /** What it is, for error messages, e.g. `"the grpc-go bench peer"`. */
  name: string;
  /** The program's `.go` files: every one in this directory (relative to the repository). */
  sources: string;
  /** Its package path in the GOPATH, e.g. `"bench"`. */
  packagePath: string;
  /** Groups of `.proto` files under `proto/`, one protoc run per Go package. */
  protos: readonly (readonly string[])[];
  /** protoc-gen-go `M` mappings (`file.proto=go/import/path`). */
  mappings?: readonly string[];
}

/** A built program in a temporary GOPATH; disposing removes it. */
export interface BuiltGoProgram extends AsyncDisposable {
  /** The executable. */
  binary: string;
}

async function run(
  what: string,
  command: string,
  args: string[],
  options: Deno.CommandOptions = {},
): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(command, {
      args,
      stdout: "null",
      stderr: "piped",
      ...options,
    }).output();
  } catch (error) {
    throw new Error(`Cannot build ${what}: ${command} is missing`, { cause: error });
  }
  if (!output.success) {
    throw new Error(
      `Cannot build ${what}: ${command} ${args.join(" ")} failed\n` +
        new TextDecoder().decode(output.stderr),
    );
  }
}

/**
 * Generates the program's protobuf code and builds it in a new temporary GOPATH.
 *
 * @param program What to build.
 * @returns The executable, removed with its GOPATH on dispose.
 * @throws {Error} When a tool or package is missing or the build fails.
 * @example
 * ```ts ignore
 * await using peer = await buildGoProgram({
 *   name: "the grpc-go bench peer",
 *   sources: "bench/go",
 *   packagePath: "bench",
 *   protos: [["bulkhead/testing/v1/interop.proto"]],
 * });
 * ```
 */
export async function buildGoProgram(program: GoProgram): Promise<BuiltGoProgram> {
  const dir = await Deno.makeTempDir({ prefix: "bulkhead-go-" });
  const dispose = () => Deno.remove(dir, { recursive: true });
  const what = program.name;
  try {
    const pkg = `${dir}/src/${program.packagePath}`;
    await Deno.mkdir(pkg, { recursive: true });
    const mappings = program.mappings ?? [];
    for (const protos of program.protos) {
      const plugins = ["plugins=grpc", ...mappings].join(",");
      await run(what, "protoc", [
        "-I",
        `${ROOT}/proto`,
        `--go_out=${plugins}:${dir}/src`,
        ...protos,
      ], {
        cwd: ROOT,
      });
    }
    for await (const entry of Deno.readDir(`${ROOT}/${program.sources}`)) {
      if (entry.isFile && entry.name.endsWith(".go")) {
        await Deno.copyFile(`${ROOT}/${program.sources}/${entry.name}`, `${pkg}/${entry.name}`);
      }
    }
    const binary = `${dir}/${program.packagePath.replaceAll("/", "_")}`;
    await run(what, "go", ["build", "-o", binary, "."], {
      cwd: pkg,
      env: {
        GO111MODULE: "off",
        GOPATH: `${dir}:/usr/share/gocode`,
        GOFLAGS: "",
        GOPROXY: "off",
        CGO_ENABLED: "0",
      },
    });
    return { binary, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
