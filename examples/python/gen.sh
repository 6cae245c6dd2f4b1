#!/bin/sh
# Regenerates gen/ (the Python protobuf and grpcio code processor.py imports)
# from proto/redpanda with Debian's tools: protoc (protobuf-compiler) and
# grpc_python_plugin (protobuf-compiler-grpc), matching python3-protobuf and
# python3-grpcio. The generated files are committed; tests/interop/gen_test.ts
# checks that they match what this script makes.
#
# Usage: examples/python/gen.sh [OUT_DIR]   (default: examples/python/gen)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$here/gen}
rm -rf "$out"
mkdir -p "$out"
grpc_python="--plugin=protoc-gen-grpc_python=$(command -v grpc_python_plugin)"
cd "$root"
protoc -I proto -I /usr/include --python_out="$out" --grpc_python_out="$out" "$grpc_python" \
  redpanda/runtime/v1alpha1/message.proto redpanda/runtime/v1alpha1/processor.proto
