/**
 * One HTTP/2 connection over a Deno socket, for either role: preface and
 * SETTINGS, the stream table, connection and stream flow control, PING,
 * RST_STREAM, GOAWAY and frame validation. gRPC calls sit on top as
 * {@linkcode StreamHandler}s; frames leave through a coalescing
 * {@linkcode SocketWriter}. Frames from the peer are checked and dispatched
 * by {@linkcode Inbound}; both halves share a {@linkcode ConnectionState}.
 *
 * Lifecycle: `start()` begins reading; the connection ends when the peer
 * closes the socket, on a protocol error (GOAWAY with the error code is
 * sent first), when the peer stops reading while frames it provoked pile up
 * past the writer's caps (GOAWAY ENHANCE_YOUR_CALM, if the socket still
 * takes it), after a GOAWAY once no stream is left, or on `close()`.
 * Streams still open then get `onAbort` with UNAVAILABLE. A failed write
 * ends it only once the frames the peer sent before it went away are read
 * (at most {@linkcode WRITE_LOST_READ_MS} later): a response that reached
 * us is delivered, not failed, whichever side noticed the loss first. `closed`
 * resolves once the socket is closed and no read or write is pending; it
 * never rejects, and comes within {@linkcode CLOSE_DEADLINE_MS} even when
 * the peer has stopped reading (the socket is closed under the pending write).
 *
 * @module
 */
import type { ConnectError } from "../../npm/connect.ts";
import { CONNECTION_PREFACE, DEFAULT_WINDOW_SIZE, ErrorCode, H2Error, Setting } from "./frame.ts";
import { ConnectionState } from "./connection_state.ts";
import type { FloodLimits } from "./flood_guard.ts";
import { type HeaderList, HpackError } from "./hpack.ts";
import { Inbound, type OnStream } from "./inbound.ts";
import { Outbound } from "./outbound.ts";
import { connectionLost, H2Stream, type StreamHandler } from "./stream.ts";
import { type OutputLimits, SocketWriter } from "./writer.ts";

/**
 * How long a closing connection waits for its last writes (GOAWAY, or a
 * write in flight) before it closes the socket under them, in milliseconds.
 */
export const CLOSE_DEADLINE_MS = 1000;

/**
 * How long a connection that can no longer write keeps reading what the
 * peer sent before it went away (a dead peer's socket ends at once; this
 * bounds one that only stopped reading).
 */
export const WRITE_LOST_READ_MS = 1000;

/** Options for {@linkcode Connection}. */
export interface ConnectionOptions {
  /** Which side of the connection we are. */
  role: "client" | "server";
  /** Server role: makes the handler for a stream the peer opened. */
  onStream?: OnStream;
  /**
   * Streams the peer may open at once (advertised and enforced; server role).
   * @default {1000}
   */
  maxConcurrentStreams?: number;
  /**
   * SETTINGS_MAX_HEADER_LIST_SIZE we advertise and enforce.
   * @default {65536}
   */
  maxHeaderListSize?: number;
  /**
   * Our per-stream receive window (SETTINGS_INITIAL_WINDOW_SIZE).
   * @default {4194304}
   */
  initialWindowSize?: number;
  /**
   * Our connection receive window, raised right after the preface.
   * @default {16777216}
   */
  connectionWindowSize?: number;
  /**
   * SETTINGS_MAX_FRAME_SIZE we advertise.
   * @default {262144}
   */
  maxFrameSize?: number;
  /** Rates of PING, SETTINGS and RST_STREAM frames and stream errors past which the peer is cut off. */
  floodLimits?: FloodLimits;
  /** Caps on the frames waiting while the peer does not read (see {@linkcode OutputLimits}). */
  outputLimits?: OutputLimits;
  /** The clock of the flood limits, in milliseconds (tests inject one). */
  now?: () => number;
}

/** An HTTP/2 connection. */
export class Connection {
  /** Our role. */
  readonly role: "client" | "server";
  /** Resolves once the socket is closed and no I/O is pending. Never rejects. */
  readonly closed: Promise<void>;
  /** Called once when the connection stops accepting new streams (GOAWAY or closing). */
  onDrain: (() => void) | undefined;

  #conn: Deno.Conn;
  #s: ConnectionState;
  #writer: SocketWriter;
  #out: Outbound;
  #inbound: Inbound;
  #maxFrame: number;
  #resolveClosed!: () => void;
  #reading: Promise<void> = Promise.resolve();
  #writeLost = false;

  /**
   * @param conn A connected socket; the connection owns and closes it.
   * @param options Role and limits.
   */
  constructor(conn: Deno.Conn, options: ConnectionOptions) {
    this.role = options.role;
    this.#conn = conn;
    this.#maxFrame = options.maxFrameSize ?? 256 << 10;
    this.#writer = new SocketWriter(
      conn,
      (error) => this.#lostWrites(connectionLost("Cannot write to the socket", error)),
      (pending, control) => this.#overflow(pending, control),
      options.outputLimits,
    );
    this.#s = new ConnectionState(this.role, this.#writer, {
      maxStreams: options.maxConcurrentStreams ?? 1000,
      maxHeaderList: options.maxHeaderListSize ?? 65536,
      initialWindow: options.initialWindowSize ?? 4 << 20,
      connWindow: options.connectionWindowSize ?? 16 << 20,
    }, {
      drained: () => this.#drained(),
      terminate: (error, flush) => this.#terminate(error, flush),
    });
    this.#out = new Outbound(this.#writer, (stream) => this.#s.maybeRemove(stream));
    this.#s.out = this.#out;
    this.#inbound = new Inbound(this.#s, {
      maxFrameSize: this.#maxFrame,
      onStream: options.onStream,
      floodLimits: options.floodLimits,
      now: options.now,
    });
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  /** Sends our preface and SETTINGS and starts reading frames. */
  start(): void {
    const s = this.#s;
    const out = this.#writer.out;
    if (this.role === "client") out.append(CONNECTION_PREFACE);
    const settings: [number, number][] = [
      [Setting.INITIAL_WINDOW_SIZE, s.initialWindow],
      [Setting.MAX_FRAME_SIZE, this.#maxFrame],
      [Setting.MAX_HEADER_LIST_SIZE, s.maxHeaderList],
    ];
    if (this.role === "client") settings.push([Setting.ENABLE_PUSH, 0]);
    else settings.push([Setting.MAX_CONCURRENT_STREAMS, s.maxStreams]);
    out.settings(settings);
    if (s.connWindow > DEFAULT_WINDOW_SIZE) {
      out.windowUpdate(0, s.connWindow - DEFAULT_WINDOW_SIZE);
      this.#inbound.recvWindow = s.connWindow;
    }
    this.#writer.schedule();
    this.#reading = this.#readLoop();
  }

  /** True while new streams may be opened on this connection. */
  get accepting(): boolean {
    const s = this.#s;
    return !s.closing && !s.goawaySent && !s.goawayReceived && !this.#writeLost &&
      s.nextStreamId < 0x7fffffff;
  }

  /**
   * True when opening a stream now stays within the peer's
   * MAX_CONCURRENT_STREAMS as far as we know it (streams opened before the
   * peer's first SETTINGS may be refused; unary calls retry those).
   */
  get hasSlot(): boolean {
    return this.#s.streams.size < this.#s.peerMaxStreams;
  }

  /** Resolves when a stream closes, settings change, or the connection drains. */
  waitForSlot(): Promise<void> {
    return new Promise((resolve) => this.#s.slotWaiters.push(resolve));
  }

  /** Opens a client stream. Check `accepting` and `hasSlot` first. */
  openStream(handler: StreamHandler): H2Stream {
    const s = this.#s;
    const id = s.nextStreamId;
    s.nextStreamId += 2;
    const stream = new H2Stream(id, handler, s.peerInitialWindow, s.initialWindow);
    s.streams.set(id, stream);
    if (s.nextStreamId >= 0x7fffffff) this.#drained();
    return stream;
  }

  /** Sends a header block (HEADERS plus CONTINUATION as needed). */
  sendHeaders(stream: H2Stream, fields: HeaderList, endStream: boolean): void {
    if (stream.done || stream.localClosed || this.#s.closing) return;
    this.#out.headers(stream.id, fields, endStream);
    if (endStream) {
      stream.localClosed = true;
      this.#s.maybeRemove(stream);
    }
  }

  /**
   * Queues `data` on the stream and sends what the flow-control windows
   * allow now. Await `stream.drained()` for the rest. `data` is kept by
   * reference until sent and must not change.
   */
  sendData(stream: H2Stream, data: Uint8Array, endStream: boolean): void {
    if (stream.done || stream.localClosed || stream.queueEnd) return;
    if (data.length > 0) {
      stream.queue.push(data);
      stream.queuedBytes += data.length;
    }
    if (endStream) stream.queueEnd = true;
    this.#out.flush(stream);
  }

  /**
   * Sends one gRPC message (its 5-byte prefix and `bytes`), in the same
   * socket write as the frames before it when the windows allow. `bytes` is
   * kept by reference until sent and must not change.
   */
  sendMessage(stream: H2Stream, bytes: Uint8Array, endStream: boolean): void {
    if (stream.done || stream.localClosed || stream.queueEnd) return;
    this.#out.message(stream, bytes, endStream);
  }

  /**
   * Sends one gRPC message of `length` bytes that `write` puts straight into
   * the output buffer, if it can go out at once (see `Outbound.messageInto`);
   * returns false, sending nothing, when the caller must use
   * {@linkcode Connection.sendMessage}. A closed stream drops it (true).
   */
  sendMessageInto(
    stream: H2Stream,
    length: number,
    write: (buf: Uint8Array, pos: number) => void,
    endStream: boolean,
  ): boolean {
    if (stream.done || stream.localClosed || stream.queueEnd) return true;
    return this.#out.messageInto(stream, length, write, endStream);
  }

  /** Sends trailers with END_STREAM after any queued data. */
  sendTrailers(stream: H2Stream, fields: HeaderList): void {
    if (stream.done || stream.localClosed || stream.queueEnd) return;
    stream.queueTrailers = fields;
    stream.queueEnd = true;
    this.#out.flush(stream);
  }

  /** Returns `n` received bytes to the peer's window once the call has consumed them. */
  consume(stream: H2Stream, n: number): void {
    this.#s.consume(stream, n);
  }

  /** Resets a stream (RST_STREAM) and forgets it; its handler is not called. */
  resetStream(stream: H2Stream, code: number): void {
    if (stream.done) return;
    if (!this.#s.closing) {
      this.#writer.out.rstStream(stream.id, code);
      this.#writer.schedule();
    }
    this.#s.remove(stream);
  }

  /** True while buffered output is above the high watermark: streaming senders should await `writable()`. */
  get writeBlocked(): boolean {
    return !this.#writer.writable;
  }

  /** Resolves when buffered output is below the high watermark. */
  writable(): Promise<void> {
    return this.#writer.drained();
  }

  /**
   * Sends GOAWAY: no new streams are accepted, open ones finish, then the
   * connection closes. Idempotent.
   */
  goaway(code: number = ErrorCode.NO_ERROR, debug = ""): void {
    if (this.#s.closing || this.#s.goawaySent) return;
    this.#s.goawaySent = true;
    this.#writer.out.goaway(this.#s.lastPeerStreamId, code, debug);
    this.#writer.schedule();
    this.#drained();
  }

  /** Closes at once without GOAWAY; open streams abort with `error`. Idempotent. */
  close(error: ConnectError = connectionLost("Connection closed")): Promise<void> {
    this.#terminate(error, false);
    return this.closed;
  }

  /** The peer stopped reading while frames piled up past a cap: give up on it. */
  #overflow(pending: number, control: number): void {
    const s = this.#s;
    if (s.closing) return;
    const { maxPendingBytes, maxPendingControlBytes } = this.#writer.limits;
    const why = `the peer stopped reading while ${pending} bytes of frames waited, ${control} ` +
      `of them not DATA (caps ${maxPendingBytes} and ${maxPendingControlBytes})`;
    this.#writer.discardPending();
    this.#writer.out.goaway(s.lastPeerStreamId, ErrorCode.ENHANCE_YOUR_CALM, "output not read");
    this.#terminate(connectionLost(`Cannot send to the peer: ${why}`), true);
  }

  #drained(): void {
    const onDrain = this.onDrain;
    this.onDrain = undefined;
    onDrain?.();
    const s = this.#s;
    s.wakeSlotWaiters();
    if (s.streams.size === 0 && (s.goawaySent || s.goawayReceived)) {
      this.#terminate(connectionLost("Connection drained"), true);
    }
  }

  /**
   * A write failed: the peer closed or reset its end. Frames it sent before
   * may still wait in our receive buffer, and complete responses among them
   * must be delivered, so no new stream opens and the read loop goes on
   * until the socket ends, or for {@linkcode WRITE_LOST_READ_MS} at most.
   */
  #lostWrites(error: ConnectError): void {
    if (this.#s.closing || this.#writeLost) return;
    this.#writeLost = true;
    if (this.#s.streams.size === 0) return this.#terminate(error, false);
    this.#drained();
    const timer = setTimeout(() => this.#terminate(error, false), WRITE_LOST_READ_MS);
    void this.#reading.finally(() => {
      clearTimeout(timer);
      this.#terminate(error, false);
    });
  }

  #terminate(error: ConnectError, flush: boolean): void {
    const s = this.#s;
    if (s.closing) return;
    s.closing = true;
    const streams = [...s.streams.values()];
    s.streams.clear();
    this.#out.clear();
    for (const stream of streams) {
      stream.done = true;
      stream.wake();
      stream.handler.onAbort(error);
    }
    this.#drained();
    void this.#shutdownSocket(flush);
  }

  /**
   * Ends the socket. A peer that stops reading must not hold the close up:
   * flushing (when asked) and the write in flight get one deadline, then the
   * socket is closed under any write still pending, which fails it.
   */
  async #shutdownSocket(flush: boolean): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => timer = setTimeout(resolve, CLOSE_DEADLINE_MS));
    try {
      if (flush) await Promise.race([this.#writer.flush(), deadline]);
      const stopped = this.#writer.stop().catch(() => {});
      await Promise.race([stopped, deadline]);
      try {
        this.#conn.close();
      } catch {
        // Already closed.
      }
      await stopped;
      await this.#reading;
    } finally {
      clearTimeout(timer);
      this.#resolveClosed();
    }
  }

  async #readLoop(): Promise<void> {
    let error = connectionLost("Connection closed by peer");
    const s = this.#s;
    try {
      while (!s.closing) {
        const n = await this.#conn.read(this.#inbound.space());
        if (n === null) break;
        this.#inbound.received(n);
      }
    } catch (e) {
      if (s.closing) return;
      if (e instanceof H2Error || e instanceof HpackError) {
        const code = e instanceof H2Error ? e.code : ErrorCode.COMPRESSION_ERROR;
        this.#writer.out.goaway(s.lastPeerStreamId, code, e.message);
        this.#writer.schedule();
        this.#terminate(connectionLost(`HTTP/2 protocol error: ${e.message}`, e), true);
        return;
      }
      const internal =
        !(e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted ||
          e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.BrokenPipe);
      if (internal) {
        this.#writer.out.goaway(s.lastPeerStreamId, ErrorCode.INTERNAL_ERROR);
        this.#writer.schedule();
      }
      error = connectionLost("Connection failed", e);
      this.#terminate(error, internal);
      return;
    }
    this.#terminate(error, false);
  }
}
