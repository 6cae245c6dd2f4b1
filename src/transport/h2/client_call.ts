/**
 * The client side of one gRPC call on an HTTP/2 stream: validates the
 * response headers, reassembles messages, reads the status from trailers
 * (or a trailers-only response), and ends the call on deadline, abort
 * signal, RST_STREAM or a lost connection. Unary and streaming calls
 * specialise what happens to messages and to the end of the call.
 *
 * @module
 */
import { Code, ConnectError } from "../../npm/connect.ts";
import type { Connection } from "./connection.ts";
import { ErrorCode } from "./frame.ts";
import {
  codeFromHttpStatus,
  headersFromList,
  MessageDeframer,
  wholeMessage,
} from "./grpc_framing.ts";
import { statusError } from "./grpc_status.ts";
import { type DeadlineHandler, deadlines } from "./deadlines.ts";
import type { HeaderList } from "./hpack.ts";
import { type H2Stream, STREAM_REFUSED, type StreamHandler } from "./stream.ts";

/** Returns the error for an aborted signal: its reason if a ConnectError, else CANCELED. */
export function abortError(signal: AbortSignal): ConnectError {
  return ConnectError.from(signal.reason ?? "operation was aborted", Code.Canceled);
}

/** A gRPC call's client side; subclasses decide what messages and the end mean. */
export abstract class ClientCall implements StreamHandler, DeadlineHandler {
  /** The connection, once the stream is open. */
  conn: Connection | undefined;
  /** The stream, once open. */
  stream: H2Stream | undefined;
  /** True once the call ended, successfully or not. */
  settled = false;
  /** The peer refused the stream before processing it: safe to retry. */
  refused = false;
  /** Response headers, once received. */
  headerFields: HeaderList | undefined;
  #readMaxBytes: number;
  #deframer: MessageDeframer | undefined; // Made when a message spans or shares frames.
  #sink: ((message: Uint8Array) => void) | undefined;
  #deadline: number | undefined; // The key of its entry in `deadlines`.
  #signal: AbortSignal | undefined;
  #onSignal: (() => void) | undefined;

  /**
   * @param readMaxBytes Largest message accepted.
   * @param signal Cancels the call.
   * @param timeoutMs Deadline for the whole call.
   */
  constructor(
    readMaxBytes: number,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
  ) {
    this.#readMaxBytes = readMaxBytes;
    if (signal !== undefined) {
      this.#signal = signal;
      this.#onSignal = () => this.fail(abortError(signal));
      signal.addEventListener("abort", this.#onSignal);
    }
    // past 2^31 - 1 ms a timer fires at once; a deadline that far off is
    // left to the server (it still travels in grpc-timeout)
    if (timeoutMs !== undefined && timeoutMs <= 2 ** 31 - 1) {
      this.#deadline = deadlines.add(this, timeoutMs);
    }
  }

  /** The deadline passed. */
  onDeadline(): void {
    this.#deadline = undefined;
    this.fail(new ConnectError("the operation timed out", Code.DeadlineExceeded));
  }

  /** Binds the call to its stream. */
  attach(conn: Connection, stream: H2Stream): void {
    this.conn = conn;
    this.stream = stream;
  }

  /** A complete response message arrived. */
  protected abstract onMessage(message: Uint8Array): void;
  /** The response headers arrived (not called for a trailers-only response). */
  protected abstract onResponseHeaders(): void;
  /** The call ended: `error` is undefined on success; `trailer` holds the trailers. */
  protected abstract onEnd(error: ConnectError | undefined, trailer: HeaderList): void;
  /** DATA bytes were received; grant or hold flow-control credit. */
  protected abstract onReceived(bytes: number): void;

  /** Ends the call with `error`, resetting the stream if it is still open. */
  fail(error: ConnectError): void {
    if (this.settled) return;
    this.#cleanup();
    if (this.stream !== undefined && !this.stream.done) {
      this.conn!.resetStream(this.stream, ErrorCode.CANCEL);
    }
    this.onEnd(error, []);
  }

  /** Response metadata as `Headers`, from response headers and trailers. */
  metadata(trailer: HeaderList): Headers {
    return headersFromList(
      this.headerFields === undefined ? trailer : [...this.headerFields, ...trailer],
    );
  }

  onHeaders(fields: HeaderList | null, endStream: boolean): void {
    if (this.settled) return;
    if (fields === null) {
      return this.fail(new ConnectError("response header list too large", Code.ResourceExhausted));
    }
    if (this.headerFields !== undefined) {
      if (!endStream) {
        return this.fail(
          new ConnectError("protocol error: trailers without END_STREAM", Code.Internal),
        );
      }
      return this.#finish(fields);
    }
    let status = "";
    let contentType = "";
    for (let i = 0; i < fields.length; i += 2) {
      if (fields[i] === ":status") status = fields[i + 1]!;
      else if (fields[i] === "content-type") contentType = fields[i + 1]!;
    }
    if (status.length === 3 && status[0] === "1" && !endStream) return; // Informational.
    if (status !== "200") {
      const code = codeFromHttpStatus(Number(status));
      return this.fail(
        new ConnectError(`HTTP ${status || "without status"}`, code, headersFromList(fields)),
      );
    }
    if (endStream) return this.#finish(fields);
    if (!contentType.startsWith("application/grpc")) {
      return this.fail(
        new ConnectError(`unexpected response content type "${contentType}"`, Code.Unknown),
      );
    }
    this.headerFields = fields;
    this.onResponseHeaders();
  }

  onData(data: Uint8Array, endStream: boolean): void {
    if (this.settled) return;
    this.onReceived(data.length);
    if (this.headerFields === undefined) {
      return this.fail(new ConnectError("protocol error: DATA before headers", Code.Internal));
    }
    const whole = this.#deframer?.partial ? undefined : wholeMessage(data, this.#readMaxBytes);
    if (whole !== undefined) this.onMessage(whole);
    else {
      try {
        this.#deframer ??= new MessageDeframer(this.#readMaxBytes);
        this.#deframer.push(data, this.#sink ??= (message) => this.onMessage(message));
      } catch (error) {
        return this.fail(ConnectError.from(error, Code.Internal));
      }
    }
    if (endStream) this.fail(new ConnectError("protocol error: missing trailers", Code.Internal));
  }

  onAbort(error: ConnectError): void {
    if (this.settled) return;
    this.stream = undefined;
    this.refused = error.cause === STREAM_REFUSED && this.headerFields === undefined;
    this.fail(error);
  }

  #finish(trailer: HeaderList): void {
    this.#cleanup();
    let error = statusError(trailer, () => this.metadata(trailer));
    if (error === undefined && this.#deframer?.partial) {
      error = new ConnectError("protocol error: incomplete message", Code.Internal);
    }
    this.onEnd(error, trailer);
  }

  #cleanup(): void {
    this.settled = true;
    if (this.#deadline !== undefined) deadlines.cancel(this, this.#deadline);
    if (this.#onSignal !== undefined) this.#signal!.removeEventListener("abort", this.#onSignal);
  }
}
