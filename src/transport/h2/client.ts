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
  type DescService,
  isMessage,
  type MessageInitShape,
  type MessageShape,
} from "../../npm/protobuf.ts";
import type { MessageCodec } from "./codec.ts";
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
  /** Encodes requests and decodes responses. */
  codec: MessageCodec;
}

const USER_AGENT = "bulkhead-grpc-h2/0.1";

/**
 * Serializes a request message, enforcing `writeMaxBytes`.
 *
 * @throws {ConnectError} RESOURCE_EXHAUSTED when the message is too large.
 */
export function encodeRequest<I extends DescMessage>(
  codec: MessageCodec,
  schema: I,
  input: MessageInitShape<I>,
  writeMaxBytes: number,
): Uint8Array {
  const message = isMessage(input, schema) ? input : create(schema, input as MessageInitShape<I>);
  const bytes = codec.encode(schema, message as MessageShape<I>);
  checkWriteSize(bytes.length, writeMaxBytes);
  return bytes;
}

/** @throws {ConnectError} RESOURCE_EXHAUSTED when `size` is over `writeMaxBytes`. */
function checkWriteSize(size: number, writeMaxBytes: number): void {
  if (size > writeMaxBytes) {
    throw new ConnectError(
      `message size ${size} is larger than configured writeMaxBytes ${writeMaxBytes}`,
      Code.ResourceExhausted,
    );
  }
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
    Object.freeze(base); // Shared by calls; frozen lists let HPACK reuse their encoding.
    basePaths.set(method, base);
  }
  if (timeoutMs === undefined && header === undefined) return base;
  const fields = base.slice();
  if (timeoutMs !== undefined) fields.push("grpc-timeout", encodeTimeout(timeoutMs));
  if (header !== undefined) {
    new Headers(header).forEach((value, name) => {
      if (!PROTOCOL_HEADERS.has(name)) fields.push(name, value);
    });
  }
  return fields;
}

/**
 * Cancels streams whose response iterator was dropped unfinished. A `break`
 * out of `for await` over `message` calls its `return()`, which cancels at
 * once; but Connect's `createClient` wraps `message` in an iterable without
 * `return()`, so through a typed client the call is only known to be
 * abandoned once the iterator is garbage: then RST_STREAM CANCEL goes out.
 */
const abandoned = new FinalizationRegistry<ClientCall>((call) => {
  if (!call.settled) call.fail(new ConnectError("stream abandoned by the client", Code.Canceled));
});

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

/**
 * One unary call: the request is sent when a stream opens (in the same
 * synchronous step as `openStream` chose it), and `promise` settles with the
 * whole response. An attempt the server refused unprocessed (over its
 * stream limit, or past its GOAWAY) is retried as a new attempt that
 * settles the same promise, as grpc-go does.
 */
class UnaryCall<I extends DescMessage, O extends DescMessage> extends ClientCall {
  readonly promise: Promise<UnaryResponse<I, O>>;
  #resolve!: (response: UnaryResponse<I, O>) => void;
  #reject!: (error: ConnectError) => void;
  #method: DescMethodUnary<I, O>;
  #codec: MessageCodec;
  #fields: HeaderList;
  #bytes: Uint8Array;
  #provider: ConnectionProvider;
  #signal: AbortSignal | undefined;
  #timeoutMs: number | undefined;
  #readMaxBytes: number;
  #attempt: number;
  #message: Uint8Array | undefined;
  #count = 0;

  constructor(
    method: DescMethodUnary<I, O>,
    request: {
      fields: HeaderList;
      bytes: Uint8Array;
      provider: ConnectionProvider;
      codec: MessageCodec;
    },
    readMaxBytes: number,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    retryOf?: UnaryCall<I, O>,
  ) {
    super(readMaxBytes, signal, timeoutMs);
    this.#method = method;
    this.#codec = request.codec;
    this.#fields = request.fields;
    this.#bytes = request.bytes;
    this.#provider = request.provider;
    this.#signal = signal;
    this.#timeoutMs = timeoutMs;
    this.#readMaxBytes = readMaxBytes;
    if (retryOf === undefined) {
      this.#attempt = 1;
      this.promise = new Promise((resolve, reject) => {
        this.#resolve = resolve;
        this.#reject = reject;
      });
    } else {
      this.#attempt = retryOf.#attempt + 1;
      this.promise = retryOf.promise;
      this.#resolve = retryOf.#resolve;
      this.#reject = retryOf.#reject;
    }
  }

  /** Opens a stream (at once when the connection has a slot) and sends the request. */
  start(): void {
    const conn = this.#provider.current();
    if (conn !== undefined && conn.hasSlot) {
      this.attach(conn, conn.openStream(this));
      return this.#send();
    }
    openStream(this.#provider, this, () => this.#send()).catch((error) =>
      this.fail(ConnectError.from(error, Code.Unavailable))
    );
  }

  #send(): void {
    const conn = this.conn!;
    const stream = this.stream!;
    conn.sendHeaders(stream, this.#fields, false);
    conn.sendMessage(stream, this.#bytes, true);
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
    if (error !== undefined) {
      if (this.refused && this.#attempt < MAX_REFUSED_RETRIES) {
        const retry = new UnaryCall(
          this.#method,
          {
            fields: this.#fields,
            bytes: this.#bytes,
            provider: this.#provider,
            codec: this.#codec,
          },
          this.#readMaxBytes,
          this.#signal,
          this.#timeoutMs,
          this,
        );
        queueMicrotask(() => retry.start());
        return;
      }
      return this.#reject(error);
    }
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
    let message: MessageShape<O>;
    try {
      message = this.#codec.decode(this.#method.output, this.#message);
    } catch (e) {
      return this.#reject(ConnectError.from(e, Code.Internal));
    }
    this.#resolve(new H2UnaryResponse(this.#method, message, this.headerFields, trailer));
  }
}

/** A unary response whose `Headers` objects are built only if asked for (most callers never do). */
class H2UnaryResponse<I extends DescMessage, O extends DescMessage> implements UnaryResponse<I, O> {
  readonly stream = false as const;
  readonly service: DescService;
  readonly method: DescMethodUnary<I, O>;
  readonly message: MessageShape<O>;
  #headerFields: HeaderList | undefined;
  #trailerFields: HeaderList;
  #header: Headers | undefined;
  #trailer: Headers | undefined;

  constructor(
    method: DescMethodUnary<I, O>,
    message: MessageShape<O>,
    headerFields: HeaderList | undefined,
    trailerFields: HeaderList,
  ) {
    this.service = method.parent;
    this.method = method;
    this.message = message;
    this.#headerFields = headerFields;
    this.#trailerFields = trailerFields;
  }

  get header(): Headers {
    return this.#header ??= headersFromList(this.#headerFields ?? []);
  }

  get trailer(): Headers {
    return this.#trailer ??= headersFromList(this.#trailerFields);
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
  const { readMaxBytes, writeMaxBytes, codec } = options;

  function unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
    input: MessageInitShape<I>,
    _contextValues?: ContextValues,
  ): Promise<UnaryResponse<I, O>> {
    // Not async: one promise per call, settled straight from the trailers.
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (timeoutMs !== undefined && timeoutMs <= 0) {
      return Promise.reject(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    }
    let bytes: Uint8Array;
    try {
      bytes = encodeRequest(codec, method.input, input, writeMaxBytes);
    } catch (error) {
      return Promise.reject(error);
    }
    const fields = requestFields(method, timeoutMs, header);
    const call = new UnaryCall(
      method,
      { fields, bytes, provider, codec },
      readMaxBytes,
      signal,
      timeoutMs,
    );
    call.start();
    return call.promise;
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
    const call = new StreamCall(method.output, codec, readMaxBytes, signal, timeoutMs);
    const fields = requestFields(method, timeoutMs, header);
    try {
      await openStream(provider, call, () => call.conn!.sendHeaders(call.stream!, fields, false));
    } catch (error) {
      call.fail(ConnectError.from(error, Code.Unavailable));
    }
    if (!call.settled) {
      void call.pump(input, (conn, stream, message) => {
        const schema = method.input;
        const request = isMessage(message, schema) ? message : create(schema, message);
        const size = codec.prepare(schema, request);
        if (size === undefined) {
          return conn.sendMessage(
            stream,
            encodeRequest(codec, schema, request, writeMaxBytes),
            false,
          );
        }
        checkWriteSize(size, writeMaxBytes);
        if (!conn.sendMessageInto(stream, size, codec.writePrepared, false)) {
          const bytes = new Uint8Array(size);
          codec.writePrepared(bytes, 0);
          conn.sendMessage(stream, bytes, false);
        }
      });
    }
    await call.responseHeaders;
    const message = call.messages();
    abandoned.register(message, call);
    return {
      stream: true,
      service: method.parent,
      method,
      header: call.metadata([]),
      message,
      trailer: call.trailer,
    };
  }

  return { unary, stream };
}
