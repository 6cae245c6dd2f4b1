/**
 * The client side of a streaming gRPC call: the request iterable is pumped
 * onto the stream with backpressure, response messages are queued with
 * receive-side backpressure and decoded as the caller iterates.
 *
 * @module
 */
import { Code, ConnectError } from "../../npm/connect.ts";
import type { DescMessage, MessageShape } from "../../npm/protobuf.ts";
import type { MessageCodec } from "./codec.ts";
import type { Connection } from "./connection.ts";
import type { H2Stream } from "./stream.ts";
import { ClientCall } from "./client_call.ts";
import { headersFromList } from "./grpc_framing.ts";
import type { HeaderList } from "./hpack.ts";
import { MessageIterator, MessageQueue } from "./message_queue.ts";

const EMPTY = new Uint8Array(0);

/** A streaming call (client, server or bidi streaming). */
export class StreamCall<O extends DescMessage> extends ClientCall {
  /** Resolves when response headers arrive; rejects if the call fails first. */
  readonly responseHeaders: Promise<void>;
  /** Response trailers; filled when the call ends. */
  readonly trailer: Headers = new Headers();
  #resolveHeaders!: () => void;
  #rejectHeaders!: (error: ConnectError) => void;
  #schema: O;
  #codec: MessageCodec;
  #queue: MessageQueue;

  /**
   * @param schema The response message type.
   * @param codec Decodes response messages.
   * @param readMaxBytes Largest message accepted.
   * @param signal Cancels the call.
   * @param timeoutMs Deadline for the whole call.
   */
  constructor(
    schema: O,
    codec: MessageCodec,
    readMaxBytes: number,
    signal?: AbortSignal,
    timeoutMs?: number,
  ) {
    super(readMaxBytes, signal, timeoutMs);
    this.#schema = schema;
    this.#codec = codec;
    this.#queue = new MessageQueue((bytes) => {
      if (this.stream !== undefined) this.conn!.consume(this.stream, bytes);
    });
    this.responseHeaders = new Promise((resolve, reject) => {
      this.#resolveHeaders = resolve;
      this.#rejectHeaders = reject;
    });
    this.responseHeaders.catch(() => {});
  }

  /**
   * Sends every message of `input` with `send`, then END_STREAM; stops when
   * the call ends.
   */
  async pump<I>(
    input: AsyncIterable<I>,
    send: (conn: Connection, stream: H2Stream, message: I) => void,
  ): Promise<void> {
    try {
      for await (const message of input) {
        if (this.settled || this.stream === undefined) return;
        const conn = this.conn!;
        const stream = this.stream;
        send(conn, stream, message);
        // Awaits only when there is something to wait for: each await is a turn per message.
        if (stream.queuedBytes > 0) await stream.drained();
        if (conn.writeBlocked) await conn.writable();
      }
      if (!this.settled && this.stream !== undefined) this.conn!.sendData(this.stream, EMPTY, true);
    } catch (error) {
      this.fail(ConnectError.from(error));
    }
  }

  /**
   * The response messages; iterating to the end throws the call's error, if
   * any. Stopping early (`return()`, a `break` out of `for await`) cancels
   * the call: RST_STREAM CANCEL goes to the server.
   */
  messages(): AsyncIterableIterator<MessageShape<O>> {
    return new MessageIterator(this.#queue, (bytes) => {
      try {
        return this.#codec.decode(this.#schema, bytes);
      } catch (error) {
        const failure = ConnectError.from(error, Code.Internal);
        this.fail(failure);
        throw failure;
      }
    }, () => {
      if (!this.settled) {
        this.fail(new ConnectError("stream canceled by the client", Code.Canceled));
      }
    });
  }

  protected onMessage(message: Uint8Array): void {
    this.#queue.push(message);
  }

  protected onResponseHeaders(): void {
    this.#resolveHeaders();
  }

  protected onReceived(bytes: number): void {
    this.#queue.received(bytes);
  }

  protected onEnd(error: ConnectError | undefined, trailer: HeaderList): void {
    headersFromList(trailer).forEach((value, name) => this.trailer.append(name, value));
    if (error !== undefined) {
      this.#queue.fail(error);
      this.#rejectHeaders(error);
    } else {
      this.#queue.end();
      this.#resolveHeaders();
    }
  }
}
