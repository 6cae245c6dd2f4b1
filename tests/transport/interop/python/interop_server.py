"""The grpcio side of Bulkhead's transport interop tests: an InteropService
server on a Unix socket, implemented as the Deno and Go servers are.

Usage: interop_server.py SOCKET  (serves until stdin closes, then stops
gracefully). Prints READY once listening. Its message types are generated at
test time from proto/bulkhead/testing/v1/interop.proto by Debian's protoc and
grpc_python_plugin into a directory on PYTHONPATH.
"""
import sys
import threading
from concurrent import futures

import grpc
from bulkhead.testing.v1 import interop_pb2, interop_pb2_grpc

MAX_MESSAGE = 64 << 20
CODES = {code.value[0]: code for code in grpc.StatusCode}


def fail(context, request):
    """Ends the call with the status the request asks for."""
    if request.fail_with_details:
        detail = interop_pb2.InteropDetail(reason="because", attempt=3)
        status = interop_pb2.RpcStatus(code=request.fail_code, message=request.fail_message)
        status.details.add().Pack(detail)
        context.set_trailing_metadata((("grpc-status-details-bin", status.SerializeToString()),))
    context.abort(CODES[request.fail_code], request.fail_message)


class Interop(interop_pb2_grpc.InteropServiceServicer):
    def __init__(self):
        self._ended = {}
        self._changed = threading.Condition()

    def _watch(self, context, tag):
        """Records how the call ends under `tag` (from grpcio's callback, so
        even when grpcio stops iterating a cancelled generator); returns an
        event set then."""
        done = threading.Event()
        remaining = context.time_remaining()
        had_deadline = remaining is not None and remaining < 1e6

        def ended():
            left = context.time_remaining()
            how = "deadline" if had_deadline and left is not None and left <= 0.05 else "canceled"
            with self._changed:
                self._ended[tag] = interop_pb2.ObserveResponse(ended=how, had_deadline=had_deadline)
                self._changed.notify_all()
            done.set()

        if not context.add_callback(ended):
            ended()  # The call had already ended.
        return done

    def _hang(self, context, tag):
        self._watch(context, tag).wait()

    def Unary(self, request, context):
        if request.hang_tag:
            self._hang(context, request.hang_tag)
            return interop_pb2.InteropResponse()
        if request.fail_code:
            fail(context, request)
        return interop_pb2.InteropResponse(payload=request.payload)

    def ServerStream(self, request, context):
        watch = self._watch(context, request.hang_tag) if request.hang_tag else None
        for i in range(request.count):
            yield interop_pb2.InteropResponse(payload=request.payload, index=i)
        if watch is not None:
            watch.wait()
            return
        if request.fail_code:
            fail(context, request)

    def ClientStream(self, request_iterator, context):
        count, received, last, failure = 0, 0, b"", None
        for request in request_iterator:
            if request.hang_tag:
                self._hang(context, request.hang_tag)
                return interop_pb2.InteropResponse()
            if request.fail_code and failure is None:
                failure = request
            count += 1
            received += len(request.payload)
            last = request.payload
        if failure is not None:
            fail(context, failure)
        return interop_pb2.InteropResponse(payload=last, index=count, received_bytes=received)

    def Bidi(self, request_iterator, context):
        for i, request in enumerate(request_iterator):
            if request.hang_tag:
                self._hang(context, request.hang_tag)
                return
            if request.fail_code:
                fail(context, request)
            yield interop_pb2.InteropResponse(payload=request.payload, index=i)

    def Observe(self, request, context):
        with self._changed:
            if not self._changed.wait_for(lambda: request.tag in self._ended, timeout=20):
                context.abort(grpc.StatusCode.NOT_FOUND, f"no call with tag {request.tag!r} ended")
            return self._ended[request.tag]


def main():
    options = [
        ("grpc.max_receive_message_length", MAX_MESSAGE),
        ("grpc.max_send_message_length", MAX_MESSAGE),
    ]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=64), options=options)
    interop_pb2_grpc.add_InteropServiceServicer_to_server(Interop(), server)
    server.add_insecure_port("unix:" + sys.argv[1])
    server.start()
    print("READY", flush=True)
    sys.stdin.read()
    server.stop(grace=2).wait()


if __name__ == "__main__":
    main()
