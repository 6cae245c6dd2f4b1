/**
 * Builds the grpc-go bench peer (`bench/go/`) into a temporary directory,
 * offline, in GOPATH mode, from Debian packages (`golang-go`,
 * `golang-google-grpc-dev`, `protobuf-compiler`, `protoc-gen-go-1-3`), as
 * the interop tests build theirs.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url)).replace(/\/$/, "");

/** One protoc run per Go package (protoc-gen-go 1.3 wants one package per run). */
const PACKAGES = [
  ["bulkhead/testing/v1/interop.proto"],
  ["redpanda/runtime/v1alpha1/message.proto", "redpanda/runtime/v1alpha1/processor.proto"],
];

const MAPPINGS = [
  "Mgoogle/protobuf/any.proto=github.com/golang/protobuf/ptypes/any",
  "Mgoogle/protobuf/duration.proto=github.com/golang/protobuf/ptypes/duration",
  "Mgoogle/protobuf/timestamp.proto=github.com/golang/protobuf/ptypes/timestamp",
  "Mredpanda/runtime/v1alpha1/message.proto=redpanda/runtime/v1alpha1",
  "Mredpanda/runtime/v1alpha1/processor.proto=redpanda/runtime/v1alpha1",
];

/** A built peer binary; disposing removes it. */
export interface GoPeer extends AsyncDisposable {
  /** Path of the `bench` binary (`server SOCKET` / `client SOCKET …`). */
  binary: string;
}

async function run(command: string, args: string[], options: Deno.CommandOptions = {}) {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(command, {
      args,
      stdout: "null",
      stderr: "piped",
      ...options,
    }).output();
  } catch (error) {
    throw new Error(`Cannot build the grpc-go peer: ${command} is missing`, { cause: error });
  }
  if (!output.success) {
    throw new Error(
      `Cannot build the grpc-go peer: ${command} ${args.join(" ")} failed\n` +
        new TextDecoder().decode(output.stderr),
    );
  }
}

/**
 * Builds the peer.
 *
 * @returns The binary, removed on dispose.
 * @throws {Error} When a tool or package is missing or the build fails.
 */
export async function buildGoPeer(): Promise<GoPeer> {
  const dir = await Deno.makeTempDir({ prefix: "bulkhead-bench-go-" });
  const dispose = () => Deno.remove(dir, { recursive: true });
  try {
    await Deno.mkdir(`${dir}/src/bench`, { recursive: true });
    for (const protos of PACKAGES) {
      await run("protoc", [
        "-I",
        `${ROOT}/proto`,
        `--go_out=plugins=grpc,${MAPPINGS.join(",")}:${dir}/src`,
        ...protos,
      ], { cwd: ROOT });
    }
    await Deno.copyFile(`${ROOT}/bench/go/main.go`, `${dir}/src/bench/main.go`);
    await run("go", ["build", "-o", `${dir}/bench`, "."], {
      cwd: `${dir}/src/bench`,
      env: {
        GO111MODULE: "off",
        GOPATH: `${dir}:/usr/share/gocode`,
        GOFLAGS: "",
        GOPROXY: "off",
        CGO_ENABLED: "0",
      },
    });
  } catch (error) {
    await dispose();
    throw error;
  }
  return { binary: `${dir}/bench`, [Symbol.asyncDispose]: dispose };
}
