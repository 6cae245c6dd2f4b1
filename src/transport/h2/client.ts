/**
 * A Connect-RPC `Transport` that speaks gRPC over our HTTP/2 connections.
 * The unary path is one function without async-iterable plumbing: encode,
 * write HEADERS and DATA with END_STREAM in one socket write, resolve on the
 * trailers. Streaming calls pump the request iterable with backpressure.
 *
 * @module
 */
import {
  Code,
  ConnectError,
  type ContextValues,
  type StreamResponse,
  type Transport,
  type UnaryResponse,
} from "../../npm/connect.ts";
import {
  create,
  type DescMessage,
  type DescMethod,
  type DescMethodStreaming,
  type DescMethodUnary,
  fromBinary,
  isMessage,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "../../npm/protobuf.ts";
import { abortError, ClientCall } from "./client_call.ts";
import { StreamCall } from "./client_stream.ts";
import type { Connection } from "./connection.ts";
import { encodeTimeout, headersFromList, PROTOCOL_HEADERS } from "./grpc_framing.ts";
import type { HeaderList } from "./hpack.ts";

/** Where calls get their connection; `native.ts` implements it with lazy dialing. */
export interface ConnectionProvider {
  /** A connection that accepts new streams now, if there is one. */
  current(): Connection | undefined;
  /**
   * Makes (or joins the making of) a new connection.
   * @throws {ConnectError} UNAVAILABLE when the server cannot be reached or the channel is closed.
   */
  connect(): Promise<Connection>;
}

/** Options for {@linkcode createH2Transport}. */
export interface H2TransportOptions {
  /** Largest message accepted from the server, in bytes. */
  readMaxBytes: number;
  /** Largest message sent to the server, in bytes. */
  writeMaxBytes: number;
}

const USER_AGENT = "bulkhead-grpc-h2/0.1";

/**
 * Serializes a request message, enforcing `writeMaxBytes`.
 *
 * @throws {ConnectError} RESOURCE_EXHAUSTED when the message is too large.
 */
export function encodeRequest<I extends DescMessage>(
  schema: I,
  input: MessageInitShape<I>,
  writeMaxBytes: number,
): Uint8Array {
  const message = isMessage(input, schema) ? input : create(schema, input as MessageInitShape<I>);
  const bytes = toBinary(schema, message as MessageShape<I>);
  if (bytes.length > writeMaxBytes) {
    throw new ConnectError(
      `message size ${bytes.length} is larger than configured writeMaxBytes ${writeMaxBytes}`,
      Code.ResourceExhausted,
    );
  }
  return bytes;
}

const basePaths = new WeakMap<DescMethod, HeaderList>();

function requestFields(
  method: DescMethod,
  timeoutMs: number | undefined,
  header: HeadersInit | undefined,
): HeaderList {
  let base = basePaths.get(method);
  if (base === undefined) {
    base = [
      ":method",
      "POST",
      ":scheme",
      "http",
      ":path",
      `/${method.parent.typeName}/${method.name}`,
      ":authority",
      "localhost",
      "content-type",
      "application/grpc+proto",
      "te",
      "trailers",
      "user-agent",
      USER_AGENT,
    ]; // deno-fmt-ignore
    basePaths.set(method, base);
  }
  const fields = base.slice();
  if (timeoutMs !== undefined) fields.push("grpc-timeout", encodeTimeout(timeoutMs));
  if (header !== undefined) {
    new Headers(header).forEach((value, name) => {
      if (!PROTOCOL_HEADERS.has(name)) fields.push(name, value);
    });
  }
  return fields;
}

/** Attempts of a unary call whose stream the server keeps refusing. */
const MAX_REFUSED_RETRIES = 5;

/**
 * Opens a stream for `call`, dialing or waiting for a free slot as needed,
 * and calls `onOpen` (which sends the HEADERS) in the same synchronous step:
 * streams must send HEADERS in the order of their ids (RFC 9113 §5.1.1;
 * grpc-go closes the connection on a stream id lower than one it has seen).
 */
async function openStream(
  provider: ConnectionProvider,
  call: ClientCall,
  onOpen: () => void,
): Promise<void> {
  while (!call.settled) {
    const conn = provider.current() ?? await provider.connect();
    if (call.settled) return;
    if (!conn.accepting) continue;
    if (conn.hasSlot) {
      call.attach(conn, conn.openStream(call));
      return onOpen();
    }
    await conn.waitForSlot();
  }
}

class UnaryCall<O extends DescMessage> extends ClientCall {
  readonly promise: Promise<MessageShape<O>>;
  trailer: HeaderList = [];
  #resolve!: (message: MessageShape<O>) => void;
  #reject!: (error: ConnectError) => void;
  #message: Uint8Array | undefined;
  #count = 0;
  #schema: O;

  constructor(schema: O, readMaxBytes: number, signal?: AbortSignal, timeoutMs?: number) {
    super(readMaxBytes, signal, timeoutMs);
    this.#schema = schema;
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // The caller awaits `promise` once the request is written; until then a
    // failure must not count as an unhandled rejection.
    this.promise.catch(() => {});
  }

  protected onMessage(message: Uint8Array): void {
    this.#count++;
    this.#message = message;
  }

  protected onResponseHeaders(): void {}

  protected onReceived(bytes: number): void {
    this.conn!.consume(this.stream!, bytes);
  }

  protected onEnd(error: ConnectError | undefined, trailer: HeaderList): void {
    this.trailer = trailer;
    if (error !== undefined) return this.#reject(error);
    if (this.#count !== 1 || this.#message === undefined) {
      return this.#reject(
        new ConnectError(
          this.#count === 0
            ? "protocol error: missing output message for unary method"
            : "protocol error: received extra output message for unary method",
          Code.Unimplemented,
        ),
      );
    }
    try {
      this.#resolve(fromBinary(this.#schema, this.#message));
    } catch (e) {
      this.#reject(ConnectError.from(e, Code.Internal));
    }
  }
}

/**
 * Creates a Connect `Transport` over HTTP/2 connections from `provider`.
 *
 * @param provider Supplies connections.
 * @param options Message size limits.
 * @returns The transport.
 */
export function createH2Transport(
  provider: ConnectionProvider,
  options: H2TransportOptions,
): Transport {
  const { readMaxBytes, writeMaxBytes } = options;

  async function unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: MessageInitShape<I>,
    _contextValues?: ContextValues,
  ): Promise<UnaryResponse<I, O>> {
    if (signal?.aborted) throw abortError(signal);
    if (timeoutMs !== undefined && timeoutMs <= 0) {
      throw new ConnectError("the operation timed out", Code.DeadlineExceeded);
    }
    const bytes = encodeRequest(method.input, input, writeMaxBytes);
    const fields = requestFields(method, timeoutMs, header);
    let call: UnaryCall<O>;
    let message: MessageShape<O>;
    for (let attempt = 1;; attempt++) {
      const attempted: UnaryCall<O> = call = new UnaryCall(
        method.output,
        readMaxBytes,
        signal,
        timeoutMs,
      );
      const send = (): void => {
        const c = attempted.conn!;
        const stream = attempted.stream!;
        c.sendHeaders(stream, fields, false);
        c.sendMessage(stream, bytes, true);
      };
      const conn = provider.current();
      if (conn !== undefined && conn.hasSlot) {
        call.attach(conn, conn.openStream(call));
        send();
      } else {
        try {
          await openStream(provider, call, send);
        } catch (error) {
          call.fail(ConnectError.from(error, Code.Unavailable));
        }
      }
      try {
        message = await call.promise;
        break;
      } catch (error) {
        // A stream the server refused unprocessed (over its stream limit, or
        // past its GOAWAY) is retried, as grpc-go does.
        if (!call.refused || attempt >= MAX_REFUSED_RETRIES) throw error;
      }
    }
    // Headers objects are costly; most callers never look at them.
    const done = call;
    let responseHeader: Headers | undefined;
    let responseTrailer: Headers | undefined;
    return {
      stream: false,
      service: method.parent,
      method,
      get header(): Headers {
        return responseHeader ??= done.metadata([]);
      },
      message,
      get trailer(): Headers {
        return responseTrailer ??= headersFromList(done.trailer);
      },
    };
  }

  async function stream<I extends DescMessage, O extends DescMessage>(
    method: DescMethodStreaming<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: AsyncIterable<MessageInitShape<I>>,
    _contextValues?: ContextValues,
  ): Promise<StreamResponse<I, O>> {
    if (signal?.aborted) throw abortError(signal);
    if (timeoutMs !== undefined && timeoutMs <= 0) {
      throw new ConnectError("the operation timed out", Code.DeadlineExceeded);
    }
    const call = new StreamCall(method.output, readMaxBytes, signal, timeoutMs);
    const fields = requestFields(method, timeoutMs, header);
    try {
      await openStream(provider, call, () => call.conn!.sendHeaders(call.stream!, fields, false));
    } catch (error) {
      call.fail(ConnectError.from(error, Code.Unavailable));
    }
    if (!call.settled) {
      void call.pump(input, (message) => encodeRequest(method.input, message, writeMaxBytes));
    }
    await call.responseHeaders;
    return {
      stream: true,
      service: method.parent,
      method,
      header: call.metadata([]),
      message: call.messages(),
      trailer: call.trailer,
    };
  }

  return { unary, stream };
}
