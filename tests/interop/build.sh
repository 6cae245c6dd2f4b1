#!/bin/sh
# Builds the Go programs of the interop tests, offline, with Debian's Go
# toolchain and libraries (golang-go, golang-github-hashicorp-go-plugin-dev,
# golang-google-grpc-dev) in GOPATH mode:
#
#   OUT_DIR/kv-go           examples/kv-go, the go-plugin KV plugin
#   OUT_DIR/go_host         tests/interop/go_host, a go-plugin KV host
#   OUT_DIR/netrpc_plugin   tests/interop/netrpc_plugin, a net/rpc go-plugin plugin
#   OUT_DIR/broker_plugin   tests/interop/broker_plugin, a go-plugin plugin using GRPCBroker
#   OUT_DIR/broker_host     tests/interop/broker_host, a go-plugin host using GRPCBroker
#   OUT_DIR/versioned_plugin tests/interop/versioned_plugin, a go-plugin plugin with VersionedPlugins
#   OUT_DIR/yamux_peer      tests/interop/yamux_peer, hashicorp/yamux echoing (golang-github-hashicorp-yamux-dev)
#
# The repository's examples/ and tests/interop/ are linked into a private
# GOPATH as bulkhead/examples and bulkhead/interop, so examples/kv-go/kv
# imports as bulkhead/examples/kv-go/kv.
#
# Usage: tests/interop/build.sh OUT_DIR
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUT_DIR" >&2; exit 2; }
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
gopath="$out/gopath"
mkdir -p "$gopath/src/bulkhead"
ln -sfn "$root/examples" "$gopath/src/bulkhead/examples"
ln -sfn "$root/tests/interop" "$gopath/src/bulkhead/interop"

export GO111MODULE=off GOFLAGS= GOPROXY=off CGO_ENABLED=0
export GOPATH="$gopath:/usr/share/gocode"
if [ -z "${GOCACHE:-}" ]; then
  GOCACHE=$(go env GOCACHE 2>/dev/null || true)
  case "$GOCACHE" in /*) ;; *) GOCACHE="$out/gocache" ;; esac
  export GOCACHE
fi

cd "$gopath/src/bulkhead/examples/kv-go" && go build -o "$out/kv-go" .
cd "$root/tests/interop/go_host" && go build -o "$out/go_host" .
cd "$root/tests/interop/netrpc_plugin" && go build -o "$out/netrpc_plugin" .
cd "$gopath/src/bulkhead/interop/broker_plugin" && go build -o "$out/broker_plugin" .
cd "$gopath/src/bulkhead/interop/broker_host" && go build -o "$out/broker_host" .
cd "$gopath/src/bulkhead/interop/versioned_plugin" && go build -o "$out/versioned_plugin" .
cd "$gopath/src/bulkhead/interop/yamux_peer" && go build -o "$out/yamux_peer" .
