/**
 * What the interop tests need from the machine (Go with Debian's go-plugin,
 * Python with grpcio, protoc), found once per test file, and the Go programs
 * built once per test file into a temporary directory.
 *
 * A test whose toolchain is missing is skipped with the reason in its name
 * (`… [skipped: …]`), never passed silently.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { KV_COOKIE } from "../../examples/kv-deno/cookie.ts";
import { exists, missing, named, PYTHON, runs } from "../_helpers.ts";

export { named, PYTHON };

export { KV_COOKIE };

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

/** The Python KV plugin. */
export const KV_PYTHON = `${ROOT}/examples/kv-python/kv_plugin.py`;

/** Why Go tests cannot run (`undefined` when they can). */
export const noGo: string | undefined = missing({
  "go (golang-go)": runs("go", ["version"]),
  "go-plugin (golang-github-hashicorp-go-plugin-dev)": exists(
    "/usr/share/gocode/src/github.com/hashicorp/go-plugin/server.go",
  ),
  "grpc-go (golang-google-grpc-dev)": exists(
    "/usr/share/gocode/src/google.golang.org/grpc/server.go",
  ),
  "yamux (golang-github-hashicorp-yamux-dev)": exists(
    "/usr/share/gocode/src/github.com/hashicorp/yamux/session.go",
  ),
});

/** Why Python tests cannot run (`undefined` when they can). */
export const noPython: string | undefined = missing({
  "python3-grpcio and python3-protobuf": runs(PYTHON, [
    "-c",
    "import grpc, google.protobuf",
  ]),
});

/** Why code generation cannot be checked (`undefined` when it can). */
export const noProtoc: string | undefined = missing({
  "protoc (protobuf-compiler)": runs("protoc", ["--version"]),
  "protoc-gen-go (golang-goprotobuf-dev)": runs("sh", ["-c", "command -v protoc-gen-go"]),
  "grpc_python_plugin (protobuf-compiler-grpc)": runs("sh", [
    "-c",
    "command -v grpc_python_plugin",
  ]),
});

/** The Go programs built by `tests/interop/build.sh`. */
export interface GoBinaries {
  /** examples/kv-go. */
  kvGo: string;
  /** tests/interop/go_host. */
  goHost: string;
  /** tests/interop/netrpc_plugin. */
  netrpcPlugin: string;
  /** tests/interop/broker_plugin. */
  brokerPlugin: string;
  /** tests/interop/broker_host. */
  brokerHost: string;
  /** tests/interop/versioned_plugin. */
  versionedPlugin: string;
  /** tests/interop/yamux_peer. */
  yamuxPeer: string;
}

let built: Promise<GoBinaries> | undefined;
let buildDir: string | undefined;

/** Builds the Go programs once per test file (offline; Go's build cache makes it quick). */
export function goBinaries(): Promise<GoBinaries> {
  return built ??= (async () => {
    buildDir = await Deno.makeTempDir({ prefix: "bulkhead-interop-" });
    const { code, stderr } = await new Deno.Command("sh", {
      args: [`${ROOT}/tests/interop/build.sh`, buildDir],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (code !== 0) {
      throw new Error(
        `Cannot build the Go interop programs: build.sh exited with ${code}\n${
          new TextDecoder().decode(stderr)
        }`,
      );
    }
    return {
      kvGo: `${buildDir}/kv-go`,
      goHost: `${buildDir}/go_host`,
      netrpcPlugin: `${buildDir}/netrpc_plugin`,
      brokerPlugin: `${buildDir}/broker_plugin`,
      brokerHost: `${buildDir}/broker_host`,
      versionedPlugin: `${buildDir}/versioned_plugin`,
      yamuxPeer: `${buildDir}/yamux_peer`,
    };
  })();
}

globalThis.addEventListener("unload", () => {
  if (buildDir) Deno.removeSync(buildDir, { recursive: true });
});

/** Runs a command to completion; returns its exit code and decoded output. */
export async function run(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(command, {
    args,
    cwd: options.cwd ?? ROOT,
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0", ...options.env },
    stdin: "null",
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

/** Runs `cli.ts` with the KV cookie; returns its exit code and output. */
export function cli(
  subcommand: string[],
  plugin: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(Deno.execPath(), [
    "run",
    "-A",
    `${ROOT}/cli.ts`,
    ...subcommand,
    "--cookie",
    `${KV_COOKIE.key}=${KV_COOKIE.value}`,
    "--",
    ...plugin,
  ]);
}
