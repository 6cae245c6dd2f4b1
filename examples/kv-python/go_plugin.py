"""HashiCorp go-plugin's gRPC protocol for a Python plugin, with grpcio.

What a go-plugin host (or a Bulkhead host) expects of a plugin, and nothing
more:

- refuse to run without the application's magic cookie in the environment;
- pick an application protocol version from PLUGIN_PROTOCOL_VERSIONS;
- listen on a Unix socket in PLUGIN_UNIX_SOCKET_DIR (or the temporary
  directory), or on 127.0.0.1 when asked for tcp as go-plugin's own Python
  example does;
- print one handshake line on stdout: CORE|APP|NETWORK|ADDRESS|grpc|
- serve grpc.health.v1.Health ("plugin" -> SERVING),
  plugin.GRPCController/Shutdown (stop serving and exit), and
  plugin.GRPCStdio/StreamStdio: after the handshake, whatever the process
  writes to its stdout and stderr (file descriptors 1 and 2) goes to the host
  through this stream, as go-plugin >= 1.4 does for Go plugins;
- plus server reflection (grpc.reflection.v1alpha), so tools can list and
  call the plugin's services.

The plugin also exits when its parent process is gone, so it never outlives
its host.
"""

import os
import queue
import signal
import sys
import tempfile
import threading
import uuid
from concurrent import futures

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

import grpc  # noqa: E402
from google.protobuf import descriptor_pool  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc  # noqa: E402
from plugin import grpc_controller_pb2, grpc_controller_pb2_grpc  # noqa: E402
from plugin import grpc_stdio_pb2, grpc_stdio_pb2_grpc  # noqa: E402

CORE_PROTOCOL_VERSION = 1
HEALTH_SERVICE = "plugin"


class _Health(health_pb2_grpc.HealthServicer):
    def __init__(self, serving):
        self._serving = serving

    def Check(self, request, context):
        status = health_pb2.HealthCheckResponse
        if request.service not in ("", HEALTH_SERVICE):
            context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {request.service}")
        return status(status=status.SERVING if self._serving() else status.NOT_SERVING)


class _Controller(grpc_controller_pb2_grpc.GRPCControllerServicer):
    def __init__(self, stop):
        self._stop = stop

    def Shutdown(self, request, context):
        self._stop.set()
        return grpc_controller_pb2.Empty()


class _Stdio(grpc_stdio_pb2_grpc.GRPCStdioServicer):
    """Streams captured stdout/stderr chunks; one host reads them."""

    def __init__(self, chunks, stop):
        self._chunks = chunks
        self._stop = stop

    def StreamStdio(self, request, context):
        while context.is_active():
            try:
                chunk = self._chunks.get(timeout=0.1)
            except queue.Empty:
                if self._stop.is_set():
                    return
                continue
            yield chunk


class _Reflection(reflection_pb2_grpc.ServerReflectionServicer):
    """grpc.reflection.v1alpha from the default descriptor pool."""

    def __init__(self, service_names):
        self._services = service_names
        self._pool = descriptor_pool.Default()

    def _files(self, file, sent):
        # the file and, depth first, every dependency not yet sent
        out = []
        if file.name in sent:
            return out
        sent.add(file.name)
        out.append(file.serialized_pb)
        for dep in file.dependencies:
            out.extend(self._files(dep, sent))
        return out

    def ServerReflectionInfo(self, request_iterator, context):
        sent = set()
        for request in request_iterator:
            response = reflection_pb2.ServerReflectionResponse(
                valid_host=request.host, original_request=request
            )
            kind = request.WhichOneof("message_request")
            try:
                if kind == "list_services":
                    response.list_services_response.service.extend(
                        reflection_pb2.ServiceResponse(name=name) for name in self._services
                    )
                elif kind == "file_by_filename":
                    file = self._pool.FindFileByName(request.file_by_filename)
                    response.file_descriptor_response.file_descriptor_proto.extend(
                        self._files(file, sent)
                    )
                elif kind == "file_containing_symbol":
                    file = self._pool.FindFileContainingSymbol(request.file_containing_symbol)
                    response.file_descriptor_response.file_descriptor_proto.extend(
                        self._files(file, sent)
                    )
                else:
                    response.error_response.error_code = grpc.StatusCode.UNIMPLEMENTED.value[0]
                    response.error_response.error_message = f"{kind} is not supported"
            except KeyError as error:
                response.error_response.error_code = grpc.StatusCode.NOT_FOUND.value[0]
                response.error_response.error_message = str(error)
            yield response


def _refuse(message):
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
    sys.exit(1)


def _capture(fd, channel, chunks):
    """Points fd at a pipe whose bytes become StdioData chunks."""
    read_end, write_end = os.pipe()
    os.dup2(write_end, fd)
    os.close(write_end)

    def pump():
        while True:
            data = os.read(read_end, 4096)
            if not data:
                return
            chunks.put(grpc_stdio_pb2.StdioData(channel=channel, data=data))

    threading.Thread(target=pump, name=f"stdio-{fd}", daemon=True).start()


def _watch_parent(stop):
    parent = os.getppid()

    def watch():
        while not stop.wait(0.5):
            if os.getppid() != parent:
                stop.set()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def serve(cookie, register, services, protocol_versions=(1,), network="unix", reflection=True):
    """Serves a plugin until the host calls Shutdown or goes away; then exits.

    cookie: (KEY, VALUE), the application's magic cookie.
    register: called with the grpc.Server to add the plugin's servicers.
    services: the full names of the services register() adds (for reflection).
    protocol_versions: the application protocol versions this plugin speaks.
    network: "unix" (default) or "tcp" (127.0.0.1, a random port).
    reflection: False serves no grpc.reflection, like go-plugin's own Python
        example (then `bulkhead call` needs --proto or --protoset).
    """
    key, value = cookie
    if os.environ.get(key) != value:
        _refuse(
            "This program is a plugin: it is meant to be started by its host application, "
            f"not run by hand.\n(The environment variable {key} is not set to the host's magic cookie.)"
        )
    offered = [
        int(v) for v in os.environ.get("PLUGIN_PROTOCOL_VERSIONS", "").split(",") if v.strip().isdigit()
    ]
    common = [v for v in protocol_versions if not offered or v in offered]
    if not common:
        _refuse(
            f"Cannot serve: the host offers protocol version(s) {offered}, "
            f"this plugin speaks {list(protocol_versions)}"
        )
    # go-plugin plugins ignore interrupts: Ctrl-C in a terminal reaches the
    # whole process group, and the host decides when its plugins stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop = threading.Event()
    # SIGTERM (a host's second step) still stops cleanly: socket removed.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())

    chunks = queue.Queue()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    register(server)
    health_pb2_grpc.add_HealthServicer_to_server(_Health(lambda: not stop.is_set()), server)
    grpc_controller_pb2_grpc.add_GRPCControllerServicer_to_server(_Controller(stop), server)
    grpc_stdio_pb2_grpc.add_GRPCStdioServicer_to_server(_Stdio(chunks, stop), server)
    if reflection:
        reflection_pb2_grpc.add_ServerReflectionServicer_to_server(
            _Reflection(
                [
                    *services,
                    "grpc.health.v1.Health",
                    "plugin.GRPCController",
                    "plugin.GRPCStdio",
                    "grpc.reflection.v1alpha.ServerReflection",
                ]
            ),
            server,
        )

    socket_path = None
    if network == "unix":
        directory = os.environ.get("PLUGIN_UNIX_SOCKET_DIR") or tempfile.gettempdir()
        socket_path = os.path.join(directory, f"plugin{uuid.uuid4().hex[:10]}")
        server.add_insecure_port(f"unix:{socket_path}")
        address = socket_path
    elif network == "tcp":
        port = server.add_insecure_port("127.0.0.1:0")
        address = f"127.0.0.1:{port}"
    else:
        raise ValueError(f"network must be unix or tcp, not {network!r}")
    server.start()

    line = f"{CORE_PROTOCOL_VERSION}|{max(common)}|{network}|{address}|grpc|\n"
    sys.stdout.write(line)
    sys.stdout.flush()
    # From here on stdout and stderr reach the host through GRPCStdio.
    _capture(1, grpc_stdio_pb2.StdioData.STDOUT, chunks)
    _capture(2, grpc_stdio_pb2.StdioData.STDERR, chunks)
    sys.stdout.reconfigure(line_buffering=True)
    _watch_parent(stop)

    stop.wait()
    server.stop(grace=0.5).wait()
    if socket_path is not None:
        try:
            os.remove(socket_path)
        except FileNotFoundError:
            pass
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
