#!/bin/sh
# Regenerates gen/ (the Python protobuf and grpcio code the plugin imports)
# with Debian's tools: protoc (protobuf-compiler) and grpc_python_plugin
# (protobuf-compiler-grpc), matching python3-protobuf and python3-grpcio.
# The generated files are committed; the interop tests check that they match
# what this script makes.
#
# - bulkhead/examples/kv/v1/kv.proto: the example's service;
# - plugin/grpc_controller.proto, plugin/grpc_stdio.proto: go-plugin's
#   internal services (Shutdown, stdio streaming);
# - grpc/health/v1 and grpc/reflection/v1alpha, generated as the Python
#   packages grpc_health.v1 and grpc_reflection.v1alpha (a package named
#   `grpc` would hide grpcio itself), as grpcio-health-checking and
#   grpcio-reflection name them; Debian packages neither.
#
# Usage: examples/kv-python/gen.sh [OUT_DIR]   (default: examples/kv-python/gen)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$here/gen}
rm -rf "$out"
mkdir -p "$out"
grpc_python="--plugin=protoc-gen-grpc_python=$(command -v grpc_python_plugin)"
cd "$root"
protoc -I proto -I /usr/include --python_out="$out" --grpc_python_out="$out" "$grpc_python" \
  bulkhead/examples/kv/v1/kv.proto plugin/grpc_controller.proto plugin/grpc_stdio.proto
protoc -Igrpc_health/v1=proto/grpc/health/v1 -Igrpc_reflection/v1alpha=proto/grpc/reflection/v1alpha \
  --python_out="$out" --grpc_python_out="$out" "$grpc_python" \
  grpc_health/v1/health.proto grpc_reflection/v1alpha/reflection.proto
