"""The grpcio side of Bulkhead's transport interop tests: runs the same
cases as the Go client (tests/transport/interop/go/client.go) against an
InteropService server on a Unix socket.

Usage: interop_client.py SOCKET. Prints "PASS name" or "FAIL name: why" per
case. Message types are generated at test time (see interop_server.py).
"""
import sys
import threading
import time

import grpc
from bulkhead.testing.v1 import interop_pb2, interop_pb2_grpc

MAX_MESSAGE = 64 << 20
FAIL_MESSAGE = 'dénied: 100% "quoted"\nline'
TAG = f"py-{time.time_ns():x}"


class Failure(Exception):
    pass


def pattern(n):
    return bytes((i * 7 + n) & 0xFF for i in range(n)) if n < 4096 else (
        bytes((i * 7 + n) & 0xFF for i in range(256)) * (n // 256 + 1))[:n]


def request(**fields):
    return interop_pb2.InteropRequest(**fields)


def expect_error(call, code):
    try:
        call()
    except grpc.RpcError as error:
        if error.code() != code:
            raise Failure(f"got {error.code()} ({error.details()!r}), want {code}")
        return error
    raise Failure(f"succeeded, want {code}")


def unary_sizes(stub):
    for n in (0, 1, 64, 16 << 10, 1 << 20, 16 << 20):
        payload = pattern(n)
        if stub.Unary(request(payload=payload), timeout=60).payload != payload:
            raise Failure(f"{n} B: echo differs")


def server_streaming(stub):
    payload = pattern(1000)
    got = list(stub.ServerStream(request(payload=payload, count=200), timeout=60))
    if len(got) != 200:
        raise Failure(f"{len(got)} messages, want 200")
    for i, res in enumerate(got):
        if res.index != i or res.payload != payload:
            raise Failure(f"message {i}: index {res.index}, {len(res.payload)} B")


def client_streaming(stub):
    res = stub.ClientStream((request(payload=pattern(i * 100)) for i in range(100)), timeout=60)
    total = sum(i * 100 for i in range(100))
    if res.index != 100 or res.received_bytes != total or res.payload != pattern(9900):
        raise Failure(f"got count {res.index}, {res.received_bytes} B, want 100, {total} B")


def bidi_streaming(stub):
    outbox = []
    ready = threading.Condition()

    def requests():
        for i in range(100):
            payload = pattern(4 << 20) if i == 99 else pattern(i * 37)
            with ready:
                outbox.append(payload)
            yield request(payload=payload)
            with ready:
                ready.wait_for(lambda: not outbox, timeout=60)

    count = 0
    for res in stub.Bidi(requests(), timeout=60):
        with ready:
            payload = outbox.pop(0)
            ready.notify_all()
        if res.index != count or res.payload != payload:
            raise Failure(f"message {count}: index {res.index}, {len(res.payload)} B")
        count += 1
    if count != 100:
        raise Failure(f"{count} messages, want 100")


def error_status(stub):
    error = expect_error(
        lambda: stub.Unary(request(fail_code=7, fail_message=FAIL_MESSAGE), timeout=60),
        grpc.StatusCode.PERMISSION_DENIED)
    if error.details() != FAIL_MESSAGE:
        raise Failure(f"message {error.details()!r}, want {FAIL_MESSAGE!r}")


def error_details(stub):
    error = expect_error(
        lambda: stub.Unary(
            request(fail_code=9, fail_message="with details", fail_with_details=True), timeout=60),
        grpc.StatusCode.FAILED_PRECONDITION)
    raw = dict(error.trailing_metadata() or ()).get("grpc-status-details-bin")
    if raw is None:
        raise Failure("no grpc-status-details-bin")
    status = interop_pb2.RpcStatus.FromString(raw)
    detail = interop_pb2.InteropDetail()
    if status.code != 9 or len(status.details) != 1 or not status.details[0].Unpack(detail):
        raise Failure(f"status {status}")
    if detail.reason != "because" or detail.attempt != 3:
        raise Failure(f"detail {detail}")


def stream_error(stub):
    call = stub.ServerStream(
        request(payload=pattern(10), count=3, fail_code=10, fail_message="after three"),
        timeout=60)
    got = []

    def drain():
        for res in call:
            got.append(res)

    error = expect_error(drain, grpc.StatusCode.ABORTED)
    if len(got) != 3 or error.details() != "after three":
        raise Failure(f"{len(got)} messages, message {error.details()!r}")


def observe(stub, tag, want):
    res = stub.Observe(interop_pb2.ObserveRequest(tag=tag), timeout=30)
    if want == "deadline" and not res.had_deadline:
        raise Failure("the server's handler did not know the deadline")
    if want == "canceled" and (res.ended != "canceled" or res.had_deadline):
        raise Failure(f"server saw the call end by {res.ended!r}, want canceled")


def deadline(stub):
    tag = TAG + "-deadline"
    expect_error(lambda: stub.Unary(request(hang_tag=tag), timeout=0.2),
                 grpc.StatusCode.DEADLINE_EXCEEDED)
    observe(stub, tag, "deadline")


def cancellation(stub):
    tag = TAG + "-cancel"
    call = stub.ServerStream(request(payload=pattern(5), count=1, hang_tag=tag))
    next(call)
    call.cancel()
    expect_error(lambda: next(call), grpc.StatusCode.CANCELLED)
    observe(stub, tag, "canceled")


def concurrent(stub):
    calls = [stub.Unary.future(request(payload=pattern(i)), timeout=60) for i in range(200)]
    for i, call in enumerate(calls):
        if call.result().payload != pattern(i):
            raise Failure(f"call {i}: echo differs")


CASES = [
    ("unary sizes", unary_sizes),
    ("server streaming", server_streaming),
    ("client streaming", client_streaming),
    ("bidi streaming", bidi_streaming),
    ("error status", error_status),
    ("error details", error_details),
    ("error after stream messages", stream_error),
    ("deadline", deadline),
    ("cancellation", cancellation),
    ("concurrent calls", concurrent),
]


def main():
    options = [
        ("grpc.max_receive_message_length", MAX_MESSAGE),
        ("grpc.max_send_message_length", MAX_MESSAGE),
    ]
    with grpc.insecure_channel("unix:" + sys.argv[1], options=options) as channel:
        stub = interop_pb2_grpc.InteropServiceStub(channel)
        for name, run in CASES:
            try:
                run(stub)
                print(f"PASS {name}", flush=True)
            except (Failure, grpc.RpcError) as error:
                print(f"FAIL {name}: {error}", flush=True)


if __name__ == "__main__":
    main()
