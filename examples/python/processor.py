#!/usr/bin/env python3
"""A batch processor in Python with grpcio, as a Redpanda Connect dynamic plugin.

It serves redpanda.runtime.v1alpha1.BatchProcessorService (Init, ProcessBatch,
Close) the way Redpanda Connect's own plugins do: it listens on the Unix socket
named by REDPANDA_CONNECT_PLUGIN_ADDRESS (unix:<path>), prints no handshake
line, and carries every error in the response, never as a gRPC status.

Each message's text is title-cased (config `mode: title`, the default) or
reversed (`mode: reverse`), and its metadata gets `word_count`, an integer.
A message that is not UTF-8 text is passed on unchanged with its own error
set (a Bulkhead pipeline dead-letters it); a configuration it does not know is
refused in Init's response.

It stops serving and exits after Close, on SIGTERM and on SIGINT.

Usage (by its host, never by hand): python3 processor.py
Needs grpcio and protobuf (Debian: python3-grpcio, python3-protobuf).
"""

import logging
import os
import signal
import sys
import threading
from concurrent import futures

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

import grpc  # noqa: E402
from redpanda.runtime.v1alpha1 import message_pb2, processor_pb2, processor_pb2_grpc  # noqa: E402

log = logging.getLogger("python-processor")

MODES = {
    "title": lambda text: text.title(),
    "reverse": lambda text: text[::-1],
}


def plain(value):
    """A redpanda.runtime.v1alpha1.Value as a Python value (what Init needs)."""
    kind = value.WhichOneof("kind")
    if kind is None or kind == "null_value":
        return None
    if kind == "struct_value":
        return {k: plain(v) for k, v in value.struct_value.fields.items()}
    if kind == "list_value":
        return [plain(v) for v in value.list_value.values]
    if kind == "timestamp_value":
        return value.timestamp_value.ToDatetime()
    return getattr(value, kind)


def error(message):
    return message_pb2.Error(message=message)


class Processor(processor_pb2_grpc.BatchProcessorServiceServicer):
    def __init__(self, closed):
        self.transform = MODES["title"]
        self.closed = closed

    def Init(self, request, context):
        config = plain(request.config) if request.HasField("config") else None
        config = {} if config is None else config
        if not isinstance(config, dict):
            return processor_pb2.BatchProcessorInitResponse(error=error("config must be a map"))
        unknown = sorted(set(config) - {"mode"})
        if unknown:
            return processor_pb2.BatchProcessorInitResponse(
                error=error(f"unknown config field: {unknown[0]}"))
        mode = config.get("mode", "title")
        if mode not in MODES:
            return processor_pb2.BatchProcessorInitResponse(
                error=error(f"mode must be one of {', '.join(MODES)}, got {mode!r}"))
        self.transform = MODES[mode]
        log.info("initialised: mode %s", mode)
        return processor_pb2.BatchProcessorInitResponse()

    def ProcessBatch(self, request, context):
        try:
            out = message_pb2.MessageBatch()
            for message in request.batch.messages:
                result = out.messages.add()
                result.CopyFrom(message)
                if message.WhichOneof("payload") != "bytes":
                    result.error.CopyFrom(error("only bytes payloads are supported"))
                    continue
                try:
                    text = message.bytes.decode("utf-8")
                except UnicodeDecodeError as e:
                    result.error.CopyFrom(error(f"not UTF-8 text: {e.reason} at byte {e.start}"))
                    continue
                result.bytes = self.transform(text).encode("utf-8")
                result.metadata.fields["word_count"].integer_value = len(text.split())
            batches = [out] if len(out.messages) > 0 else []
            return processor_pb2.BatchProcessorProcessBatchResponse(batches=batches)
        except Exception as e:  # the whole batch failed: say so in the response
            log.exception("batch failed")
            return processor_pb2.BatchProcessorProcessBatchResponse(error=error(f"batch failed: {e}"))

    def Close(self, request, context):
        log.info("closing")
        self.closed.set()  # the main thread stops the server once this answer is sent
        return processor_pb2.BatchProcessorCloseResponse()


def listen_address():
    version = os.environ.get("REDPANDA_CONNECT_PLUGIN_VERSION", "1")
    if version != "1":
        sys.exit(f"unsupported REDPANDA_CONNECT_PLUGIN_VERSION: {version}")
    address = os.environ.get("REDPANDA_CONNECT_PLUGIN_ADDRESS")
    if not address:
        sys.exit("REDPANDA_CONNECT_PLUGIN_ADDRESS not set")
    if not address.startswith("unix:"):
        sys.exit(f"cannot listen on {address}: only unix:<path> addresses are supported")
    return address


def main():
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(message)s")
    address = listen_address()
    stop = threading.Event()
    closed = threading.Event()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    processor_pb2_grpc.add_BatchProcessorServiceServicer_to_server(Processor(closed), server)
    if server.add_insecure_port(address) == 0:
        sys.exit(f"cannot listen on {address}")
    server.start()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    threading.Thread(target=lambda: (closed.wait(), stop.set()), daemon=True).start()
    stop.wait()
    # Close's own answer is still in flight: the grace period lets it finish.
    server.stop(grace=2 if closed.is_set() else 0).wait()


if __name__ == "__main__":
    main()
