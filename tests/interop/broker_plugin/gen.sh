#!/bin/sh
# Regenerates callbackpb/callback.pb.go from
# proto/bulkhead/testing/v1/callback.proto with Debian's protoc and
# protoc-gen-go 1.3.5, as examples/kv-go/gen.sh does for the KV service.
#
# Usage: tests/interop/broker_plugin/gen.sh [OUT_DIR]   (default: callbackpb)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${1:-$here/callbackpb}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
protoc -I "$root/proto" \
  --go_out=plugins=grpc,paths=source_relative,import_path=callbackpb:"$tmp" \
  bulkhead/testing/v1/callback.proto
mkdir -p "$out"
cp "$tmp/bulkhead/testing/v1/callback.pb.go" "$out/callback.pb.go"
