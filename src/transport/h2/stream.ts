/**
 * One HTTP/2 stream's state (RFC 9113, section 5.1): which halves are
 * closed, both flow-control windows, and the outgoing data waiting for
 * window. The {@linkcode StreamHandler} is the gRPC call on top.
 *
 * @module
 */
import { Code, ConnectError } from "../../npm/connect.ts";
import { ErrorCode } from "./frame.ts";
import type { HeaderList } from "./hpack.ts";

/** What a gRPC call implements to receive its stream's events. */
export interface StreamHandler {
  /**
   * A complete header block arrived: response headers, request headers or
   * trailers. `fields` is `null` when the list exceeded our limit.
   */
  onHeaders(fields: HeaderList | null, endStream: boolean): void;
  /** A DATA payload arrived; the view is valid only during this call. */
  onData(data: Uint8Array, endStream: boolean): void;
  /**
   * The stream ended abnormally: RST_STREAM, GOAWAY or a lost connection.
   * Called at most once, and never after the stream closed normally.
   */
  onAbort(error: ConnectError): void;
}

/** One stream of a connection. */
export class H2Stream {
  /** The stream identifier. */
  readonly id: number;
  /** The call on top of the stream. */
  handler: StreamHandler;
  /** Bytes we may still send (the peer's window for us). */
  sendWindow: number;
  /** Bytes the peer may still send before we grant more. */
  recvWindow: number;
  /** Bytes received and consumed, not yet granted back. */
  unacked = 0;
  /** END_STREAM sent, or the stream was reset. */
  localClosed = false;
  /** END_STREAM received, or the stream was reset. */
  remoteClosed = false;
  /** Removed from the connection (closed or reset). */
  done = false;
  /** Outgoing chunks waiting for window. */
  queue: Uint8Array[] = [];
  /** Bytes of `queue[0]` already sent. */
  queueOffset = 0;
  /** Total bytes in `queue` not yet sent. */
  queuedBytes = 0;
  /** END_STREAM goes with the last queued chunk. */
  queueEnd = false;
  /** Trailers to send once the queue is empty. */
  queueTrailers: HeaderList | undefined;
  #drainWaiters: (() => void)[] = [];

  /**
   * @param id Stream identifier.
   * @param handler The call.
   * @param sendWindow The peer's SETTINGS_INITIAL_WINDOW_SIZE.
   * @param recvWindow Our SETTINGS_INITIAL_WINDOW_SIZE.
   */
  constructor(id: number, handler: StreamHandler, sendWindow: number, recvWindow: number) {
    this.id = id;
    this.handler = handler;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** Resolves when no outgoing data waits for window (or the stream is gone). */
  drained(): Promise<void> {
    if (this.queuedBytes === 0 || this.done) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Wakes `drained()` waiters; called by the connection. */
  wake(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  }
}

/** Maps an RST_STREAM error code received by a client to a gRPC code (gRPC PROTOCOL-HTTP2.md). */
export function codeFromRstStream(code: number): Code {
  switch (code) {
    case ErrorCode.REFUSED_STREAM:
      return Code.Unavailable;
    case ErrorCode.CANCEL:
      return Code.Canceled;
    case ErrorCode.ENHANCE_YOUR_CALM:
      return Code.ResourceExhausted;
    case ErrorCode.INADEQUATE_SECURITY:
      return Code.PermissionDenied;
    default:
      return Code.Internal;
  }
}

/**
 * The `cause` of the error a stream aborts with when the peer refused it
 * before processing it (RST_STREAM REFUSED_STREAM, or past a GOAWAY's last
 * stream id): such a call is safe to retry.
 */
export const STREAM_REFUSED: Error = new Error("stream refused before processing");

/** The error for calls on a connection that was lost. */
export function connectionLost(reason: string, cause?: unknown): ConnectError {
  return new ConnectError(reason, Code.Unavailable, undefined, undefined, cause);
}
