#!/usr/bin/env python3
"""The key-value plugin in Python: grpcio, go-plugin's protocol (go_plugin.py).

Keeps its keys in memory. Every call prints a line on stdout, and logs go to
stderr as hclog-style JSON lines (`@level`, `@message`, `@module`), so hosts
keep their levels; after the handshake both reach the host through
go-plugin's stdio stream (plugin.GRPCStdio).

Usage (by its host, never by hand): python3 kv_plugin.py [--tcp]
  --tcp   listen on 127.0.0.1 instead of a Unix socket, as go-plugin's own
          Python example does (a Bulkhead host accepts it only with allowTcp).
"""

import datetime
import json
import logging
import sys
import threading

import go_plugin
from bulkhead.examples.kv.v1 import kv_pb2, kv_pb2_grpc

# The KV application's magic cookie (the same as examples/kv-go/kv/kv.go).
COOKIE = ("BULKHEAD_KV_PLUGIN", "kv-3f9c2e61-interop")

log = logging.getLogger("kv-python")


class HclogJson(logging.Formatter):
    """Formats a record as one hclog JSON line."""

    def format(self, record):
        entry = {
            "@level": {"WARNING": "warn", "CRITICAL": "error"}.get(record.levelname, record.levelname.lower()),
            "@message": record.getMessage(),
            "@module": record.name,
            "@timestamp": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc).isoformat(),
        }
        entry.update(getattr(record, "fields", {}))
        return json.dumps(entry)


class KvServicer(kv_pb2_grpc.KvServiceServicer):
    def __init__(self):
        self._lock = threading.Lock()
        self._values = {}

    def Put(self, request, context):
        with self._lock:
            self._values[request.key] = request.value
        print(f"put {request.key}={request.value}")
        log.info("put %s (%d bytes)", request.key, len(request.value))
        return kv_pb2.PutResponse()

    def Get(self, request, context):
        with self._lock:
            found = request.key in self._values
            value = self._values.get(request.key, "")
        print(f"get {request.key}: {'found' if found else 'missing'}")
        if not found:
            log.warning("get of a missing key", extra={"fields": {"key": request.key}})
        return kv_pb2.GetResponse(value=value, found=found)

    def List(self, request, context):
        with self._lock:
            keys = sorted(k for k in self._values if k.startswith(request.prefix))
        print(f"list {request.prefix!r}: {len(keys)} key(s)")
        return kv_pb2.ListResponse(keys=keys)


def main():
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(HclogJson())
    logging.basicConfig(handlers=[handler], level=logging.INFO)
    network = "tcp" if "--tcp" in sys.argv[1:] else "unix"
    go_plugin.serve(
        COOKIE,
        lambda server: kv_pb2_grpc.add_KvServiceServicer_to_server(KvServicer(), server),
        services=[kv_pb2.DESCRIPTOR.services_by_name["KvService"].full_name],
        network=network,
        # --no-reflection: serve as go-plugin's own Python example does, without reflection
        reflection="--no-reflection" not in sys.argv[1:],
    )


if __name__ == "__main__":
    main()
