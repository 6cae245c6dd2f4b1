/**
 * Builds the grpc-go bench peer (`bench/go/`) into a temporary directory,
 * offline, in GOPATH mode, from Debian packages (`golang-go`,
 * `golang-google-grpc-dev`, `protobuf-compiler`, `protoc-gen-go-1-3`), as
 * the interop tests build theirs.
 *
 * @module
 */
import { buildGoProgram } from "../tools/go_build.ts";

/** A built peer binary; disposing removes it. */
export interface GoPeer extends AsyncDisposable {
  /** Path of the `bench` binary (`server SOCKET` / `client SOCKET …`). */
  binary: string;
}

/**
 * Builds the peer.
 *
 * @returns The binary, removed on dispose.
 * @throws {Error} When a tool or package is missing or the build fails.
 */
export function buildGoPeer(): Promise<GoPeer> {
  return buildGoProgram({
    name: "the grpc-go peer",
    sources: "bench/go",
    packagePath: "bench",
    // one protoc run per Go package (protoc-gen-go 1.3 wants one package per run)
    protos: [
      ["bulkhead/testing/v1/interop.proto"],
      ["redpanda/runtime/v1alpha1/message.proto", "redpanda/runtime/v1alpha1/processor.proto"],
    ],
    mappings: [
      "Mgoogle/protobuf/any.proto=github.com/golang/protobuf/ptypes/any",
      "Mgoogle/protobuf/duration.proto=github.com/golang/protobuf/ptypes/duration",
      "Mgoogle/protobuf/timestamp.proto=github.com/golang/protobuf/ptypes/timestamp",
      "Mredpanda/runtime/v1alpha1/message.proto=redpanda/runtime/v1alpha1",
      "Mredpanda/runtime/v1alpha1/processor.proto=redpanda/runtime/v1alpha1",
    ],
  });
}
