#!/bin/sh
# Regenerates kvpb/kv.pb.go from proto/bulkhead/examples/kv/v1/kv.proto with
# Debian's tools: protoc (protobuf-compiler) and protoc-gen-go 1.3.5
# (golang-goprotobuf-dev), whose output builds against Debian's
# golang-github-golang-protobuf-1-3-dev and golang-google-grpc-dev, as
# go-plugin 1.0.1 expects. The generated file is committed; the interop tests
# check that it matches what this script makes.
#
# Usage: examples/kv-go/gen.sh [OUT_DIR]   (default: examples/kv-go/kvpb)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$here/kvpb}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
protoc -I "$root/proto" \
  --go_out=plugins=grpc,paths=source_relative,import_path=kvpb:"$tmp" \
  bulkhead/examples/kv/v1/kv.proto
mkdir -p "$out"
cp "$tmp/bulkhead/examples/kv/v1/kv.pb.go" "$out/kv.pb.go"
