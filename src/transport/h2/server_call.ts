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
import { Code, ConnectError, type MethodImplSpec } from "../../npm/connect.ts";
import { create, type DescMessage, fromBinary, isMessage, toBinary } from "../../npm/protobuf.ts";
import type { Connection } from "./connection.ts";
import { ErrorCode } from "./frame.ts";
import { appendMetadata, MessageDeframer } from "./grpc_framing.ts";
import { CallContext } from "./handler_context.ts";
import { statusTrailers } from "./grpc_status.ts";
import type { HeaderList } from "./hpack.ts";
import { MessageQueue } from "./message_queue.ts";
import type { H2Stream, StreamHandler } from "./stream.ts";

/** Limits for server calls. */
export interface ServerCallOptions {
  /** Largest request message accepted, in bytes. */
  readMaxBytes: number;
  /** Largest response message sent, in bytes. */
  writeMaxBytes: number;
}

/** Serializes a response message, enforcing `writeMaxBytes`. */
function encodeResponse(schema: DescMessage, output: unknown, writeMaxBytes: number): Uint8Array {
  const message = isMessage(output, schema) ? output : create(schema, output as never);
  const bytes = toBinary(schema, message);
  if (bytes.length > writeMaxBytes) {
    throw new ConnectError(
      `message size ${bytes.length} is larger than configured writeMaxBytes ${writeMaxBytes}`,
      Code.ResourceExhausted,
    );
  }
  return bytes;
}

/** One incoming gRPC call. */
export class ServerCall implements StreamHandler {
  #conn: Connection;
  #stream: H2Stream;
  #spec: MethodImplSpec;
  #options: ServerCallOptions;
  #ctx: CallContext;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #deframer: MessageDeframer;
  #queue: MessageQueue | undefined;
  #unary: Uint8Array[] = [];
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
    this.#deframer = new MessageDeframer(options.readMaxBytes);
    this.#ctx = new CallContext(spec.method, fields, timeoutMs);
    if (timeoutMs !== undefined) {
      this.#timer = setTimeout(() => {
        const error = new ConnectError("the operation timed out", Code.DeadlineExceeded);
        this.#ctx.abort(error);
        this.#finish(error);
      }, timeoutMs);
    }
    if (spec.kind === "client_streaming" || spec.kind === "bidi_streaming") {
      this.#queue = new MessageQueue((bytes) => this.#conn.consume(this.#stream, bytes));
      void this.#run();
    }
  }

  onHeaders(_fields: HeaderList | null, _endStream: boolean): void {
    this.#requestEnded();
  }

  onData(data: Uint8Array, endStream: boolean): void {
    if (this.#ended) return;
    if (this.#queue === undefined) this.#conn.consume(this.#stream, data.length);
    else this.#queue.received(data.length);
    try {
      this.#deframer.push(data, (message) => {
        if (this.#queue !== undefined) this.#queue.push(message);
        else this.#unary.push(message);
      });
    } catch (error) {
      return this.#finish(ConnectError.from(error, Code.Internal));
    }
    if (endStream) this.#requestEnded();
  }

  onAbort(error: ConnectError): void {
    this.#ended = true;
    clearTimeout(this.#timer);
    this.#queue?.fail(error);
    this.#ctx.abort(error);
  }

  /** Called when the request stream is complete (END_STREAM). */
  #requestEnded(): void {
    if (this.#ended) return;
    if (this.#deframer.partial) {
      return this.#finish(new ConnectError("protocol error: incomplete message", Code.Internal));
    }
    if (this.#queue !== undefined) return this.#queue.end();
    if (this.#unary.length !== 1) {
      return this.#finish(
        new ConnectError(
          `protocol error: expected 1 input message for ${this.#spec.kind} method, got ${this.#unary.length}`,
          Code.Internal,
        ),
      );
    }
    void this.#run();
  }

  async #run(): Promise<void> {
    const spec = this.#spec;
    const ctx = this.#ctx;
    try {
      if (spec.kind === "unary" || spec.kind === "client_streaming") {
        const output = spec.kind === "unary"
          ? await spec.impl(fromBinary(spec.method.input, this.#unary[0]!), ctx)
          : await spec.impl(this.#requests(spec.method.input), ctx);
        if (this.#ended) return;
        this.#send(encodeResponse(spec.method.output, output, this.#options.writeMaxBytes));
      } else {
        const outputs = spec.kind === "server_streaming"
          ? spec.impl(fromBinary(spec.method.input, this.#unary[0]!), ctx)
          : spec.impl(this.#requests(spec.method.input), ctx);
        for await (const output of outputs) {
          if (this.#ended) break;
          this.#send(encodeResponse(spec.method.output, output, this.#options.writeMaxBytes));
          if (this.#stream.queuedBytes > 0) await this.#stream.drained();
          await this.#conn.writable();
        }
      }
      this.#finish(undefined);
    } catch (error) {
      this.#finish(ConnectError.from(error, Code.Internal));
    }
  }

  async *#requests<I extends DescMessage>(
    schema: I,
  ): AsyncGenerator<ReturnType<typeof fromBinary<I>>> {
    while (true) {
      const bytes = await this.#queue!.next();
      if (bytes === undefined) return;
      yield fromBinary(schema, bytes);
    }
  }

  #responseHeaders(): HeaderList {
    const list = [":status", "200", "content-type", "application/grpc"];
    const header = this.#ctx.responseHeaderIfSet;
    if (header !== undefined) appendMetadata(list, header);
    return list;
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
    clearTimeout(this.#timer);
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
