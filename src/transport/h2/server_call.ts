/**
 * The server side of one gRPC call: collects request messages from the
 * stream, runs the Connect service implementation (unary, server-streaming,
 * client-streaming or bidi) with a `HandlerContext`, and writes the response
 * — for a unary call headers, message and trailers in one socket write.
 *
 * A handler that throws a `ConnectError` answers with its code, message,
 * metadata and details; any other error answers INTERNAL. A client reset,
 * a lost connection or the deadline aborts `context.signal`.
 *
 * @module
 */
import { handlerError } from "../handler_error.ts";
import { Code, ConnectError, type MethodImplSpec } from "../../npm/connect.ts";
import { create, type DescMessage, isMessage, type MessageShape } from "../../npm/protobuf.ts";
import type { MessageCodec } from "./codec.ts";
import type { Connection } from "./connection.ts";
import { ErrorCode } from "./frame.ts";
import { appendMetadata, MessageDeframer, wholeMessage } from "./grpc_framing.ts";
import { CallContext } from "./handler_context.ts";
import { type DeadlineHandler, deadlines } from "./deadlines.ts";
import { statusTrailers } from "./grpc_status.ts";
import type { HeaderList } from "./hpack.ts";
import { MessageIterator, MessageQueue } from "./message_queue.ts";
import type { H2Stream, StreamHandler } from "./stream.ts";

/** Response headers without metadata (frozen and shared, so HPACK reuses their encoding). */
const RESPONSE_HEADERS: HeaderList = Object.freeze([
  ":status",
  "200",
  "content-type",
  "application/grpc",
]) as HeaderList;

/** Limits for server calls. */
export interface ServerCallOptions {
  /** Largest request message accepted, in bytes. */
  readMaxBytes: number;
  /** Largest response message sent, in bytes. */
  writeMaxBytes: number;
  /** Decodes requests and encodes responses. */
  codec: MessageCodec;
}

/** Serializes a response message, enforcing `writeMaxBytes`. */
function encodeResponse(
  schema: DescMessage,
  output: unknown,
  options: ServerCallOptions,
): Uint8Array {
  const { codec, writeMaxBytes } = options;
  const message = isMessage(output, schema) ? output : create(schema, output as never);
  const bytes = codec.encode(schema, message);
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

/** One incoming gRPC call. */
export class ServerCall implements StreamHandler, DeadlineHandler {
  #conn: Connection;
  #stream: H2Stream;
  #spec: MethodImplSpec;
  #options: ServerCallOptions;
  #ctx: CallContext;
  #deadline: number | undefined; // The key of its entry in `deadlines`.
  #deframer: MessageDeframer | undefined; // Made when a message spans or shares frames.
  #sink: ((message: Uint8Array) => void) | undefined;
  #queue: MessageQueue | undefined;
  #request: Uint8Array | undefined; // Unary and server-streaming: the one request message.
  #requests = 0;
  #headersSent = false;
  #ended = false;

  /**
   * Starts the call; unary and server-streaming handlers run once the
   * request is complete, the others at once.
   */
  constructor(
    conn: Connection,
    stream: H2Stream,
    spec: MethodImplSpec,
    fields: HeaderList,
    timeoutMs: number | undefined,
    options: ServerCallOptions,
  ) {
    this.#conn = conn;
    this.#stream = stream;
    this.#spec = spec;
    this.#options = options;
    this.#ctx = new CallContext(spec.method, fields, timeoutMs);
    if (timeoutMs !== undefined) this.#deadline = deadlines.add(this, timeoutMs);
    if (spec.kind === "client_streaming" || spec.kind === "bidi_streaming") {
      this.#queue = new MessageQueue((bytes) => this.#conn.consume(this.#stream, bytes));
      void this.#run();
    }
  }

  /** The deadline passed: the handler's signal aborts and the call ends. */
  onDeadline(): void {
    this.#deadline = undefined;
    const error = new ConnectError("the operation timed out", Code.DeadlineExceeded);
    this.#ctx.abort(error);
    this.#finish(error);
  }

  #clearDeadline(): void {
    if (this.#deadline === undefined) return;
    deadlines.cancel(this, this.#deadline);
    this.#deadline = undefined;
  }

  onHeaders(_fields: HeaderList | null, _endStream: boolean): void {
    this.#requestEnded();
  }

  onData(data: Uint8Array, endStream: boolean): void {
    if (this.#ended) return;
    if (this.#queue === undefined) this.#conn.consume(this.#stream, data.length);
    else this.#queue.received(data.length);
    const whole = this.#deframer?.partial
      ? undefined
      : wholeMessage(data, this.#options.readMaxBytes);
    if (whole !== undefined) this.#onMessage(whole);
    else {
      try {
        this.#deframer ??= new MessageDeframer(this.#options.readMaxBytes);
        this.#deframer.push(data, this.#sink ??= (message) => this.#onMessage(message));
      } catch (error) {
        return this.#finish(ConnectError.from(error, Code.Internal));
      }
    }
    if (endStream) this.#requestEnded();
  }

  #onMessage(message: Uint8Array): void {
    if (this.#queue !== undefined) return this.#queue.push(message);
    this.#requests++;
    this.#request = message;
  }

  onAbort(error: ConnectError): void {
    this.#ended = true;
    this.#clearDeadline();
    this.#queue?.fail(error);
    this.#ctx.abort(error);
  }

  /** Called when the request stream is complete (END_STREAM). */
  #requestEnded(): void {
    if (this.#ended) return;
    if (this.#deframer?.partial) {
      return this.#finish(new ConnectError("protocol error: incomplete message", Code.Internal));
    }
    if (this.#queue !== undefined) return this.#queue.end();
    if (this.#requests !== 1) {
      return this.#finish(
        new ConnectError(
          `protocol error: expected 1 input message for ${this.#spec.kind} method, got ${this.#requests}`,
          Code.Internal,
        ),
      );
    }
    if (this.#spec.kind === "unary") this.#runUnary();
    else void this.#run();
  }

  /**
   * Runs a unary handler; one that returns its answer without a promise is
   * answered in the same turn, so answers to a batch of calls leave together.
   */
  #runUnary(): void {
    const spec = this.#spec as Extract<MethodImplSpec, { kind: "unary" }>;
    let output: unknown;
    try {
      output = spec.impl(this.#options.codec.decode(spec.method.input, this.#request!), this.#ctx);
    } catch (error) {
      return this.#finish(handlerError(error));
    }
    if (typeof (output as PromiseLike<unknown> | undefined)?.then === "function") {
      (output as PromiseLike<unknown>).then(
        (value) => this.#reply(value),
        (error) => this.#finish(handlerError(error)),
      );
    } else this.#reply(output);
  }

  #reply(output: unknown): void {
    if (this.#ended) return;
    try {
      this.#respond(this.#spec.method.output, output);
    } catch (error) {
      return this.#finish(ConnectError.from(error, Code.Internal));
    }
    this.#finish(undefined);
  }

  async #run(): Promise<void> {
    const spec = this.#spec;
    const ctx = this.#ctx;
    try {
      if (spec.kind === "unary" || spec.kind === "client_streaming") {
        const output = spec.kind === "unary"
          ? await spec.impl(this.#options.codec.decode(spec.method.input, this.#request!), ctx)
          : await spec.impl(this.#requestStream(spec.method.input), ctx);
        if (this.#ended) return;
        this.#respond(spec.method.output, output);
      } else {
        const outputs = spec.kind === "server_streaming"
          ? spec.impl(this.#options.codec.decode(spec.method.input, this.#request!), ctx)
          : spec.impl(this.#requestStream(spec.method.input), ctx);
        for await (const output of outputs) {
          if (this.#ended) break;
          this.#respond(spec.method.output, output);
          if (this.#stream.queuedBytes > 0) await this.#stream.drained();
          if (this.#conn.writeBlocked) await this.#conn.writable();
        }
      }
      this.#finish(undefined);
    } catch (error) {
      this.#finish(handlerError(error));
    }
  }

  #requestStream<I extends DescMessage>(schema: I): AsyncIterableIterator<MessageShape<I>> {
    const codec = this.#options.codec;
    return new MessageIterator(this.#queue!, (bytes) => codec.decode(schema, bytes));
  }

  #responseHeaders(): HeaderList {
    const header = this.#ctx.responseHeaderIfSet;
    if (header === undefined) return RESPONSE_HEADERS;
    const list = RESPONSE_HEADERS.slice();
    appendMetadata(list, header);
    return list;
  }

  /**
   * Encodes and sends one response message: written by the codec straight
   * into the connection's output buffer when it can go out at once.
   */
  #respond(schema: DescMessage, output: unknown): void {
    if (this.#ended) return;
    const { codec, writeMaxBytes } = this.#options;
    const message = isMessage(output, schema) ? output : create(schema, output as never);
    const size = codec.prepare(schema, message);
    if (size === undefined) return this.#send(encodeResponse(schema, message, this.#options));
    checkWriteSize(size, writeMaxBytes);
    this.#sendHeadersOnce();
    if (!this.#conn.sendMessageInto(this.#stream, size, codec.writePrepared, false)) {
      const bytes = new Uint8Array(size);
      codec.writePrepared(bytes, 0);
      this.#conn.sendMessage(this.#stream, bytes, false);
    }
  }

  #sendHeadersOnce(): void {
    if (!this.#headersSent) {
      this.#headersSent = true;
      this.#conn.sendHeaders(this.#stream, this.#responseHeaders(), false);
    }
  }

  #send(bytes: Uint8Array): void {
    if (this.#ended) return;
    if (!this.#headersSent) {
      this.#headersSent = true;
      this.#conn.sendHeaders(this.#stream, this.#responseHeaders(), false);
    }
    this.#conn.sendMessage(this.#stream, bytes, false);
  }

  #finish(error: ConnectError | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#clearDeadline();
    const conn = this.#conn;
    const stream = this.#stream;
    const trailers = statusTrailers(error, this.#ctx.responseTrailerIfSet);
    if (this.#headersSent) conn.sendTrailers(stream, trailers);
    else conn.sendHeaders(stream, [...this.#responseHeaders(), ...trailers], true);
    this.#queue?.fail(new ConnectError("call ended", Code.Canceled));
    this.#ctx.abort();
    if (!stream.remoteClosed) {
      // The response is complete; stop the client sending the rest of the request.
      void stream.drained().then(() => {
        if (!stream.remoteClosed) conn.resetStream(stream, ErrorCode.NO_ERROR);
      });
    }
  }
}
