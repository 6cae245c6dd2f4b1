/**
 * Routes incoming HTTP/2 streams to Connect service implementations:
 * validates the request headers (method, content type, compression,
 * timeout) and either answers at once (trailers-only) or starts a
 * {@linkcode ServerCall}.
 *
 * @module
 */
import { Code, createServiceImplSpec, type MethodImplSpec } from "../../npm/connect.ts";
import type { ServiceRegistration } from "../transport.ts";
import type { Connection } from "./connection.ts";
import { ErrorCode } from "./frame.ts";
import { parseTimeout, percentEncode } from "./grpc_framing.ts";

const MAX_TIMER_MS = 2 ** 31 - 1;
import type { HeaderList } from "./hpack.ts";
import { ServerCall, type ServerCallOptions } from "./server_call.ts";
import type { H2Stream, StreamHandler } from "./stream.ts";

const IGNORE: StreamHandler = { onHeaders() {}, onData() {}, onAbort() {} };

/** Dispatches gRPC calls on server connections to service implementations. */
export class GrpcDispatcher {
  #routes = new Map<string, MethodImplSpec>();
  #options: ServerCallOptions;

  /**
   * @param services The services to serve.
   * @param options Message size limits.
   */
  constructor(services: readonly ServiceRegistration[], options: ServerCallOptions) {
    this.#options = options;
    for (const { service, implementation } of services) {
      const spec = createServiceImplSpec(service, implementation);
      for (const method of service.methods) {
        this.#routes.set(`/${service.typeName}/${method.name}`, spec.methods[method.localName]!);
      }
    }
  }

  /** Makes the handler for a stream the client opened with `fields`. */
  handle(
    conn: Connection,
    stream: H2Stream,
    fields: HeaderList | null,
    endStream: boolean,
  ): StreamHandler {
    if (fields === null) {
      return reject(conn, stream, Code.ResourceExhausted, "request header list too large");
    }
    let method = "";
    let path = "";
    let contentType = "";
    let encoding: string | undefined;
    let timeout: string | undefined;
    for (let i = 0; i < fields.length; i += 2) {
      const value = fields[i + 1]!;
      switch (fields[i]) {
        case ":method":
          method = value;
          break;
        case ":path":
          path = value;
          break;
        case "content-type":
          contentType = value;
          break;
        case "grpc-encoding":
          encoding = value;
          break;
        case "grpc-timeout":
          timeout = value;
          break;
      }
    }
    if (method !== "POST") return httpError(conn, stream, "405");
    if (contentType !== "application/grpc" && contentType !== "application/grpc+proto") {
      return httpError(conn, stream, "415");
    }
    const spec = this.#routes.get(path);
    if (spec === undefined) {
      return reject(conn, stream, Code.Unimplemented, `unknown method ${path}`);
    }
    if (encoding !== undefined && encoding !== "identity") {
      return reject(conn, stream, Code.Unimplemented, `unsupported grpc-encoding "${encoding}"`, [
        "grpc-accept-encoding",
        "identity",
      ]);
    }
    let timeoutMs: number | undefined;
    if (timeout !== undefined) {
      timeoutMs = parseTimeout(timeout);
      if (timeoutMs === undefined) {
        return reject(conn, stream, Code.InvalidArgument, `invalid grpc-timeout "${timeout}"`);
      }
      // A deadline past what a timer can hold (2^31 - 1 ms, ~24.8 days) would
      // fire at once; so far off, it is no deadline at all.
      if (timeoutMs > MAX_TIMER_MS) timeoutMs = undefined;
    }
    const call = new ServerCall(
      conn,
      stream,
      spec,
      fields,
      timeoutMs,
      this.#options,
    );
    if (endStream) call.onHeaders(null, true);
    return call;
  }
}

function reject(
  conn: Connection,
  stream: H2Stream,
  code: Code,
  message: string,
  extra: HeaderList = [],
): StreamHandler {
  conn.sendHeaders(stream, [
    ":status",
    "200",
    "content-type",
    "application/grpc",
    ...extra,
    "grpc-status",
    String(code),
    "grpc-message",
    percentEncode(message),
  ], true); // deno-fmt-ignore
  if (!stream.remoteClosed) conn.resetStream(stream, ErrorCode.NO_ERROR);
  return IGNORE;
}

function httpError(conn: Connection, stream: H2Stream, status: string): StreamHandler {
  conn.sendHeaders(stream, [":status", status], true);
  if (!stream.remoteClosed) conn.resetStream(stream, ErrorCode.NO_ERROR);
  return IGNORE;
}
