/**
 * One HTTP/2 connection over a Deno socket, for either role: preface and
 * SETTINGS, the stream table, connection and stream flow control, PING,
 * RST_STREAM, GOAWAY and frame validation. gRPC calls sit on top as
 * {@linkcode StreamHandler}s; frames leave through a coalescing
 * {@linkcode SocketWriter}.
 *
 * Lifecycle: `start()` begins reading; the connection ends when the peer
 * closes the socket, on a protocol error (GOAWAY with the error code is
 * sent first), after a GOAWAY once no stream is left, or on `close()`.
 * Streams still open then get `onAbort` with UNAVAILABLE. `closed`
 * resolves once the socket is closed and no read or write is pending; it
 * never rejects.
 *
 * @module
 */
import { ConnectError } from "../../npm/connect.ts";
import {
  CONNECTION_PREFACE,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW_SIZE,
  ErrorCode,
  Flag,
  FrameType,
  H2Error,
  MAX_WINDOW_SIZE,
  Setting,
} from "./frame.ts";
import { FrameReader } from "./frame_reader.ts";
import { HeaderBlockAssembler } from "./header_block.ts";
import { FloodGuard, type FloodLimits } from "./flood_guard.ts";
import { type HeaderList, HpackError } from "./hpack.ts";
import { HpackDecoder } from "./hpack_decoder.ts";
import { Outbound } from "./outbound.ts";
import {
  codeFromRstStream,
  connectionLost,
  H2Stream,
  STREAM_REFUSED,
  type StreamHandler,
} from "./stream.ts";
import { SocketWriter } from "./writer.ts";

/** Options for {@linkcode Connection}. */
export interface ConnectionOptions {
  /** Which side of the connection we are. */
  role: "client" | "server";
  /** Server role: makes the handler for a stream the peer opened. */
  onStream?: (stream: H2Stream, fields: HeaderList | null, endStream: boolean) => StreamHandler;
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
  /** Rates of PING, SETTINGS and RST_STREAM frames past which the peer is cut off. */
  floodLimits?: FloodLimits;
  /** The clock of the flood limits, in milliseconds (tests inject one). */
  now?: () => number;
}

const NOOP_HANDLER: StreamHandler = { onHeaders() {}, onData() {}, onAbort() {} };
const u32 = (b: Uint8Array, p: number): number =>
  (b[p]! << 24 | b[p + 1]! << 16 | b[p + 2]! << 8 | b[p + 3]!) >>> 0;

/** An HTTP/2 connection. */
export class Connection {
  /** Our role. */
  readonly role: "client" | "server";
  /** Resolves once the socket is closed and no I/O is pending. Never rejects. */
  readonly closed: Promise<void>;
  /** Called once when the connection stops accepting new streams (GOAWAY or closing). */
  onDrain: (() => void) | undefined;

  #conn: Deno.Conn;
  #writer: SocketWriter;
  #reader: FrameReader;
  #headers: HeaderBlockAssembler;
  #out: Outbound;
  #flood: FloodGuard;
  #decoder = new HpackDecoder();
  #streams = new Map<number, H2Stream>();
  #onStream: ConnectionOptions["onStream"];
  #maxStreams: number;
  #maxHeaderList: number;
  #initialWindow: number;
  #connWindow: number;
  #maxFrame: number;
  #nextStreamId = 1;
  #lastPeerStreamId = 0;
  #peerInitialWindow = DEFAULT_WINDOW_SIZE;
  #peerMaxStreams = Infinity;
  #recvWindow = DEFAULT_WINDOW_SIZE;
  #recvUnacked = 0;
  #slotWaiters: (() => void)[] = [];
  #prefaceSeen: boolean;
  #settingsSeen = false;
  #goawaySent = false;
  #goawayReceived = false;
  #closing = false;
  #resolveClosed!: () => void;
  #reading: Promise<void> = Promise.resolve();

  /**
   * @param conn A connected socket; the connection owns and closes it.
   * @param options Role and limits.
   */
  constructor(conn: Deno.Conn, options: ConnectionOptions) {
    this.role = options.role;
    this.#conn = conn;
    this.#onStream = options.onStream;
    this.#maxStreams = options.maxConcurrentStreams ?? 1000;
    this.#maxHeaderList = options.maxHeaderListSize ?? 65536;
    this.#initialWindow = options.initialWindowSize ?? 4 << 20;
    this.#connWindow = options.connectionWindowSize ?? 16 << 20;
    this.#maxFrame = options.maxFrameSize ?? 256 << 10;
    this.#reader = new FrameReader(this.#maxFrame);
    this.#headers = new HeaderBlockAssembler(Math.max(2 * this.#maxHeaderList, 16384));
    this.#writer = new SocketWriter(
      conn,
      (error) => this.#terminate(connectionLost("Cannot write to the socket", error), false),
    );
    this.#out = new Outbound(this.#writer, (stream) => this.#maybeRemove(stream));
    this.#flood = new FloodGuard(options.floodLimits, options.now);
    this.#prefaceSeen = this.role === "client";
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  /** Sends our preface and SETTINGS and starts reading frames. */
  start(): void {
    const out = this.#writer.out;
    if (this.role === "client") out.append(CONNECTION_PREFACE);
    const settings: [number, number][] = [
      [Setting.INITIAL_WINDOW_SIZE, this.#initialWindow],
      [Setting.MAX_FRAME_SIZE, this.#maxFrame],
      [Setting.MAX_HEADER_LIST_SIZE, this.#maxHeaderList],
    ];
    if (this.role === "client") settings.push([Setting.ENABLE_PUSH, 0]);
    else settings.push([Setting.MAX_CONCURRENT_STREAMS, this.#maxStreams]);
    out.settings(settings);
    if (this.#connWindow > DEFAULT_WINDOW_SIZE) {
      out.windowUpdate(0, this.#connWindow - DEFAULT_WINDOW_SIZE);
      this.#recvWindow = this.#connWindow;
    }
    this.#writer.schedule();
    this.#reading = this.#readLoop();
  }

  /** True while new streams may be opened on this connection. */
  get accepting(): boolean {
    return !this.#closing && !this.#goawaySent && !this.#goawayReceived &&
      this.#nextStreamId < 0x7fffffff;
  }

  /**
   * True when opening a stream now stays within the peer's
   * MAX_CONCURRENT_STREAMS as far as we know it (streams opened before the
   * peer's first SETTINGS may be refused; unary calls retry those).
   */
  get hasSlot(): boolean {
    return this.#streams.size < this.#peerMaxStreams;
  }

  /** Streams currently open. */
  get streamCount(): number {
    return this.#streams.size;
  }

  /** Resolves when a stream closes, settings change, or the connection drains. */
  waitForSlot(): Promise<void> {
    return new Promise((resolve) => this.#slotWaiters.push(resolve));
  }

  /** Opens a client stream. Check `accepting` and `hasSlot` first. */
  openStream(handler: StreamHandler): H2Stream {
    const id = this.#nextStreamId;
    this.#nextStreamId += 2;
    const stream = new H2Stream(id, handler, this.#peerInitialWindow, this.#initialWindow);
    this.#streams.set(id, stream);
    if (this.#nextStreamId >= 0x7fffffff) this.#drained();
    return stream;
  }

  /** Sends a header block (HEADERS plus CONTINUATION as needed). */
  sendHeaders(stream: H2Stream, fields: HeaderList, endStream: boolean): void {
    if (stream.done || stream.localClosed || this.#closing) return;
    this.#out.headers(stream.id, fields, endStream);
    if (endStream) {
      stream.localClosed = true;
      this.#maybeRemove(stream);
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

  /** Sends trailers with END_STREAM after any queued data. */
  sendTrailers(stream: H2Stream, fields: HeaderList): void {
    if (stream.done || stream.localClosed || stream.queueEnd) return;
    stream.queueTrailers = fields;
    stream.queueEnd = true;
    this.#out.flush(stream);
  }

  /** Returns `n` received bytes to the peer's window once the call has consumed them. */
  consume(stream: H2Stream, n: number): void {
    if (stream.done || stream.remoteClosed || n === 0) return;
    stream.unacked += n;
    if (stream.unacked >= this.#initialWindow >>> 1) {
      this.#writer.out.windowUpdate(stream.id, stream.unacked);
      stream.recvWindow += stream.unacked;
      stream.unacked = 0;
      this.#writer.schedule();
    }
  }

  /** Resets a stream (RST_STREAM) and forgets it; its handler is not called. */
  resetStream(stream: H2Stream, code: number): void {
    if (stream.done) return;
    if (!this.#closing) {
      this.#writer.out.rstStream(stream.id, code);
      this.#writer.schedule();
    }
    this.#remove(stream);
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
    if (this.#closing || this.#goawaySent) return;
    this.#goawaySent = true;
    this.#writer.out.goaway(this.#lastPeerStreamId, code, debug);
    this.#writer.schedule();
    this.#drained();
  }

  /** Closes at once without GOAWAY; open streams abort with `error`. Idempotent. */
  close(error: ConnectError = connectionLost("Connection closed")): Promise<void> {
    this.#terminate(error, false);
    return this.closed;
  }

  #drained(): void {
    const onDrain = this.onDrain;
    this.onDrain = undefined;
    onDrain?.();
    this.#wakeSlotWaiters();
    if (this.#streams.size === 0 && (this.#goawaySent || this.#goawayReceived)) {
      this.#terminate(connectionLost("Connection drained"), true);
    }
  }

  /** Counts a frame the peer makes us work for; ends the connection on a flood. */
  #calm(kind: "pings" | "settings" | "resets"): void {
    if (!this.#flood.allow(kind)) {
      throw new H2Error(`Too many ${kind} from the peer`, ErrorCode.ENHANCE_YOUR_CALM);
    }
  }

  #wakeSlotWaiters(): void {
    const waiters = this.#slotWaiters;
    this.#slotWaiters = [];
    for (const wake of waiters) wake();
  }

  #terminate(error: ConnectError, flush: boolean): void {
    if (this.#closing) return;
    this.#closing = true;
    const streams = [...this.#streams.values()];
    this.#streams.clear();
    this.#out.clear();
    for (const stream of streams) {
      stream.done = true;
      stream.wake();
      stream.handler.onAbort(error);
    }
    this.#drained();
    void this.#shutdownSocket(flush);
  }

  async #shutdownSocket(flush: boolean): Promise<void> {
    if (flush) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, 1000));
      await Promise.race([this.#writer.flush(), timeout]);
      clearTimeout(timer);
    }
    await this.#writer.stop().catch(() => {});
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    await this.#reading;
    this.#resolveClosed();
  }

  async #readLoop(): Promise<void> {
    let error = connectionLost("Connection closed by peer");
    try {
      while (!this.#closing) {
        const n = await this.#conn.read(this.#reader.space());
        if (n === null) break;
        this.#reader.commit(n);
        if (!this.#prefaceSeen) {
          const preface = this.#reader.take(CONNECTION_PREFACE.length);
          if (preface === undefined) continue;
          if (!preface.every((b, i) => b === CONNECTION_PREFACE[i])) {
            throw new H2Error("Invalid connection preface", ErrorCode.PROTOCOL_ERROR);
          }
          this.#prefaceSeen = true;
        }
        const reader = this.#reader;
        while (!this.#closing && reader.next()) {
          try {
            this.#onFrame(reader.type, reader.flags, reader.streamId, reader.payload);
          } catch (e) {
            if (!(e instanceof H2Error) || e.streamId === undefined) throw e;
            this.#streamError(e.streamId, e.code, e.message);
          }
        }
      }
    } catch (e) {
      if (this.#closing) return;
      if (e instanceof H2Error || e instanceof HpackError) {
        const code = e instanceof H2Error ? e.code : ErrorCode.COMPRESSION_ERROR;
        this.#writer.out.goaway(this.#lastPeerStreamId, code, e.message);
        this.#writer.schedule();
        this.#terminate(connectionLost(`HTTP/2 protocol error: ${e.message}`, e), true);
        return;
      }
      const internal =
        !(e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted ||
          e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.BrokenPipe);
      if (internal) {
        this.#writer.out.goaway(this.#lastPeerStreamId, ErrorCode.INTERNAL_ERROR);
        this.#writer.schedule();
      }
      error = connectionLost("Connection failed", e);
      this.#terminate(error, internal);
      return;
    }
    this.#terminate(error, false);
  }

  #streamError(id: number, code: number, message: string): void {
    const stream = this.#streams.get(id);
    this.#writer.out.rstStream(id, code);
    this.#writer.schedule();
    if (stream === undefined) return;
    this.#remove(stream);
    stream.handler.onAbort(
      new ConnectError(`HTTP/2 stream error: ${message}`, codeFromRstStream(code)),
    );
  }

  #onFrame(type: number, flags: number, id: number, payload: Uint8Array): void {
    if (this.#headers.streamId !== 0 && type !== FrameType.CONTINUATION) {
      throw new H2Error("Expected CONTINUATION", ErrorCode.PROTOCOL_ERROR);
    }
    if (!this.#settingsSeen && (type !== FrameType.SETTINGS || (flags & Flag.ACK) !== 0)) {
      throw new H2Error("First frame is not SETTINGS", ErrorCode.PROTOCOL_ERROR);
    }
    switch (type) {
      case FrameType.DATA:
        return this.#onData(flags, id, payload);
      case FrameType.HEADERS: {
        const block = this.#headers.headers(id, flags, payload);
        if (block !== undefined) this.#onHeaderBlock(id, this.#headers.endStream, block);
        return;
      }
      case FrameType.CONTINUATION: {
        const block = this.#headers.continuation(id, flags, payload);
        if (block !== undefined) this.#onHeaderBlock(id, this.#headers.endStream, block);
        return;
      }
      case FrameType.PRIORITY:
        if (id === 0) throw new H2Error("PRIORITY on stream 0", ErrorCode.PROTOCOL_ERROR);
        if (payload.length !== 5) {
          throw new H2Error("PRIORITY length", ErrorCode.FRAME_SIZE_ERROR, id);
        }
        return;
      case FrameType.RST_STREAM:
        return this.#onRstStream(id, payload);
      case FrameType.SETTINGS:
        return this.#onSettings(flags, id, payload);
      case FrameType.PUSH_PROMISE:
        throw new H2Error("PUSH_PROMISE is not enabled", ErrorCode.PROTOCOL_ERROR);
      case FrameType.PING:
        if (id !== 0) throw new H2Error("PING on a stream", ErrorCode.PROTOCOL_ERROR);
        if (payload.length !== 8) throw new H2Error("PING length", ErrorCode.FRAME_SIZE_ERROR);
        if ((flags & Flag.ACK) === 0) {
          this.#calm("pings");
          this.#writer.out.ping(payload, true);
          this.#writer.schedule();
        }
        return;
      case FrameType.GOAWAY:
        return this.#onGoaway(id, payload);
      case FrameType.WINDOW_UPDATE:
        return this.#onWindowUpdate(id, payload);
      default:
        return; // Unknown frame types are ignored (RFC 9113, section 4.1).
    }
  }

  /** True when `id` names a stream that was never opened (as opposed to one that closed). */
  #idle(id: number): boolean {
    const peerInitiated = (id & 1) === (this.role === "server" ? 1 : 0);
    return peerInitiated ? id > this.#lastPeerStreamId : id >= this.#nextStreamId;
  }

  #onHeaderBlock(id: number, endStream: boolean, block: Uint8Array): void {
    let fields: HeaderList | null;
    try {
      fields = this.#decoder.decode(block, this.#maxHeaderList);
    } catch (e) {
      throw new H2Error(
        `Cannot decode headers: ${(e as Error).message}`,
        ErrorCode.COMPRESSION_ERROR,
      );
    }
    let stream = this.#streams.get(id);
    if (stream === undefined) {
      if (!this.#idle(id)) return; // A stream we reset or finished; the block only fed HPACK.
      if (this.role === "client" || (id & 1) === 0) {
        throw new H2Error(`HEADERS on idle stream ${id}`, ErrorCode.PROTOCOL_ERROR);
      }
      this.#lastPeerStreamId = id;
      if (this.#closing || this.#goawaySent || this.#streams.size >= this.#maxStreams) {
        this.#writer.out.rstStream(id, ErrorCode.REFUSED_STREAM);
        this.#writer.schedule();
        return;
      }
      stream = new H2Stream(id, NOOP_HANDLER, this.#peerInitialWindow, this.#initialWindow);
      this.#streams.set(id, stream);
      stream.remoteClosed = endStream;
      stream.handler = this.#onStream?.(stream, fields, endStream) ?? NOOP_HANDLER;
      if (endStream) this.#maybeRemove(stream);
      return;
    }
    if (stream.remoteClosed) {
      throw new H2Error("HEADERS after END_STREAM", ErrorCode.STREAM_CLOSED, id);
    }
    if (this.role === "server" && !endStream) {
      throw new H2Error("Trailers without END_STREAM", ErrorCode.PROTOCOL_ERROR, id);
    }
    if (endStream) stream.remoteClosed = true;
    stream.handler.onHeaders(fields, endStream);
    if (endStream) this.#maybeRemove(stream);
  }

  #onData(flags: number, id: number, payload: Uint8Array): void {
    if (id === 0) throw new H2Error("DATA on stream 0", ErrorCode.PROTOCOL_ERROR);
    const length = payload.length;
    let data = payload;
    if (flags & Flag.PADDED) {
      if (length < 1 || payload[0]! >= length) {
        throw new H2Error("DATA padding exceeds payload", ErrorCode.PROTOCOL_ERROR);
      }
      data = payload.subarray(1, length - payload[0]!);
    }
    this.#recvWindow -= length;
    if (this.#recvWindow < 0) {
      throw new H2Error("Connection flow-control window exceeded", ErrorCode.FLOW_CONTROL_ERROR);
    }
    this.#recvUnacked += length;
    if (this.#recvUnacked >= this.#connWindow >>> 1) {
      this.#writer.out.windowUpdate(0, this.#recvUnacked);
      this.#recvWindow += this.#recvUnacked;
      this.#recvUnacked = 0;
      this.#writer.schedule();
    }
    const stream = this.#streams.get(id);
    if (stream === undefined) {
      if (this.#idle(id)) throw new H2Error(`DATA on idle stream ${id}`, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    if (stream.remoteClosed) {
      throw new H2Error("DATA after END_STREAM", ErrorCode.STREAM_CLOSED, id);
    }
    stream.recvWindow -= length;
    if (stream.recvWindow < 0) {
      throw new H2Error("Stream flow-control window exceeded", ErrorCode.FLOW_CONTROL_ERROR, id);
    }
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if (endStream) stream.remoteClosed = true;
    else if (length > data.length) this.consume(stream, length - data.length);
    stream.handler.onData(data, endStream);
    if (endStream) this.#maybeRemove(stream);
  }

  #onRstStream(id: number, payload: Uint8Array): void {
    if (id === 0) throw new H2Error("RST_STREAM on stream 0", ErrorCode.PROTOCOL_ERROR);
    if (payload.length !== 4) throw new H2Error("RST_STREAM length", ErrorCode.FRAME_SIZE_ERROR);
    const stream = this.#streams.get(id);
    if (stream === undefined) {
      if (this.#idle(id)) throw new H2Error("RST_STREAM on idle stream", ErrorCode.PROTOCOL_ERROR);
      return;
    }
    this.#calm("resets");
    const code = u32(payload, 0);
    this.#remove(stream);
    stream.handler.onAbort(
      new ConnectError(
        `Stream reset by peer with code ${code}`,
        codeFromRstStream(code),
        undefined,
        undefined,
        code === ErrorCode.REFUSED_STREAM ? STREAM_REFUSED : undefined,
      ),
    );
  }

  #onSettings(flags: number, id: number, payload: Uint8Array): void {
    if (id !== 0) throw new H2Error("SETTINGS on a stream", ErrorCode.PROTOCOL_ERROR);
    if (flags & Flag.ACK) {
      if (payload.length !== 0) {
        throw new H2Error("SETTINGS ACK length", ErrorCode.FRAME_SIZE_ERROR);
      }
      return;
    }
    if (payload.length % 6 !== 0) throw new H2Error("SETTINGS length", ErrorCode.FRAME_SIZE_ERROR);
    if (this.#settingsSeen) this.#calm("settings");
    this.#settingsSeen = true;
    for (let p = 0; p < payload.length; p += 6) {
      const key = payload[p]! << 8 | payload[p + 1]!;
      const value = u32(payload, p + 2);
      switch (key) {
        case Setting.HEADER_TABLE_SIZE:
          this.#out.setHeaderTableSize(value);
          break;
        case Setting.ENABLE_PUSH:
          if (value > 1 || (value === 1 && this.role === "client")) {
            throw new H2Error("Invalid SETTINGS_ENABLE_PUSH", ErrorCode.PROTOCOL_ERROR);
          }
          break;
        case Setting.MAX_CONCURRENT_STREAMS:
          this.#peerMaxStreams = value;
          break;
        case Setting.INITIAL_WINDOW_SIZE:
          this.#setPeerInitialWindow(value);
          break;
        case Setting.MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME_SIZE || value > 0xffffff) {
            throw new H2Error("Invalid SETTINGS_MAX_FRAME_SIZE", ErrorCode.PROTOCOL_ERROR);
          }
          this.#out.peerMaxFrame = value;
          break;
      }
    }
    this.#writer.out.settings([], true);
    this.#writer.schedule();
    this.#wakeSlotWaiters();
  }

  #setPeerInitialWindow(value: number): void {
    if (value > MAX_WINDOW_SIZE) {
      throw new H2Error("Invalid SETTINGS_INITIAL_WINDOW_SIZE", ErrorCode.FLOW_CONTROL_ERROR);
    }
    const delta = value - this.#peerInitialWindow;
    this.#peerInitialWindow = value;
    for (const stream of this.#streams.values()) {
      stream.sendWindow += delta;
      if (stream.sendWindow > MAX_WINDOW_SIZE) {
        throw new H2Error("Stream window overflow", ErrorCode.FLOW_CONTROL_ERROR);
      }
    }
    if (delta > 0) { for (const stream of [...this.#streams.values()]) this.#out.flush(stream); }
  }

  #onGoaway(id: number, payload: Uint8Array): void {
    if (id !== 0) throw new H2Error("GOAWAY on a stream", ErrorCode.PROTOCOL_ERROR);
    if (payload.length < 8) throw new H2Error("GOAWAY length", ErrorCode.FRAME_SIZE_ERROR);
    const lastStreamId = u32(payload, 0) & 0x7fffffff;
    const code = u32(payload, 4);
    this.#goawayReceived = true;
    for (const stream of [...this.#streams.values()]) {
      if (stream.id <= lastStreamId || (stream.id & 1) !== (this.role === "client" ? 1 : 0)) {
        continue;
      }
      this.#remove(stream);
      stream.handler.onAbort(
        connectionLost(`Stream refused by GOAWAY (code ${code}) before processing`, STREAM_REFUSED),
      );
    }
    this.#drained();
  }

  #onWindowUpdate(id: number, payload: Uint8Array): void {
    if (payload.length !== 4) throw new H2Error("WINDOW_UPDATE length", ErrorCode.FRAME_SIZE_ERROR);
    const increment = u32(payload, 0) & 0x7fffffff;
    if (id === 0) {
      if (increment === 0) throw new H2Error("WINDOW_UPDATE of 0", ErrorCode.PROTOCOL_ERROR);
      this.#out.addConnectionWindow(increment);
      return;
    }
    const stream = this.#streams.get(id);
    if (stream === undefined) {
      if (this.#idle(id)) {
        throw new H2Error("WINDOW_UPDATE on idle stream", ErrorCode.PROTOCOL_ERROR);
      }
      return;
    }
    if (increment === 0) throw new H2Error("WINDOW_UPDATE of 0", ErrorCode.PROTOCOL_ERROR, id);
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW_SIZE) {
      throw new H2Error("Stream window overflow", ErrorCode.FLOW_CONTROL_ERROR, id);
    }
    this.#out.flush(stream);
  }

  #maybeRemove(stream: H2Stream): void {
    if (stream.localClosed && stream.remoteClosed) this.#remove(stream);
  }

  #remove(stream: H2Stream): void {
    if (stream.done) return;
    stream.done = true;
    stream.localClosed = stream.remoteClosed = true;
    stream.queue = [];
    stream.queuedBytes = 0;
    this.#streams.delete(stream.id);
    this.#out.forget(stream);
    stream.wake();
    if (this.#slotWaiters.length > 0) this.#slotWaiters.shift()!();
    if (this.#streams.size === 0 && (this.#goawaySent || this.#goawayReceived)) {
      this.#terminate(connectionLost("Connection drained"), true);
    }
  }
}
