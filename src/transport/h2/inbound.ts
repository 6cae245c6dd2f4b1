/**
 * The receiving half of an HTTP/2 connection: splits what the socket read
 * into frames, checks the preface and each frame against the protocol
 * (stream states, sizes, windows, floods), and dispatches them — header
 * blocks through HPACK to the stream handlers, DATA within flow control,
 * SETTINGS, PING, RST_STREAM, GOAWAY and WINDOW_UPDATE to the shared
 * {@linkcode ConnectionState}. A stream error resets that stream; a
 * connection error is thrown for the connection to answer with GOAWAY.
 *
 * @module
 */
import { ConnectError } from "../../npm/connect.ts";
import {
  CONNECTION_PREFACE,
  DEFAULT_WINDOW_SIZE,
  ErrorCode,
  Flag,
  FrameType,
  H2Error,
} from "./frame.ts";
import type { ConnectionState } from "./connection_state.ts";
import { ControlFrames } from "./control_frames.ts";
import type { FloodLimits } from "./flood_guard.ts";
import { FrameReader } from "./frame_reader.ts";
import { HeaderBlockAssembler } from "./header_block.ts";
import type { HeaderList } from "./hpack.ts";
import { HpackDecoder } from "./hpack_decoder.ts";
import { codeFromRstStream, H2Stream, type StreamHandler } from "./stream.ts";

/** Makes the handler of a stream the peer opened (server role). */
export type OnStream = (
  stream: H2Stream,
  fields: HeaderList | null,
  endStream: boolean,
) => StreamHandler;

/** Options for {@linkcode Inbound}. */
export interface InboundOptions {
  /** SETTINGS_MAX_FRAME_SIZE we advertise. */
  maxFrameSize: number;
  /** Server role: makes the handler for a stream the peer opened. */
  onStream: OnStream | undefined;
  /** Rates of PING, SETTINGS and RST_STREAM frames and stream errors past which the peer is cut off. */
  floodLimits: FloodLimits | undefined;
  /** The clock of the flood limits, in milliseconds. */
  now: (() => number) | undefined;
}

const NOOP_HANDLER: StreamHandler = { onHeaders() {}, onData() {}, onAbort() {} };

/** Frames from the peer, checked and dispatched. */
export class Inbound {
  #s: ConnectionState;
  #reader: FrameReader;
  #headers: HeaderBlockAssembler;
  #control: ControlFrames;
  #decoder = new HpackDecoder();
  #onStream: OnStream | undefined;
  #recvWindow = DEFAULT_WINDOW_SIZE;
  #recvUnacked = 0;
  #prefaceSeen: boolean;

  /**
   * @param state The connection's shared state.
   * @param options Limits and the stream factory.
   */
  constructor(state: ConnectionState, options: InboundOptions) {
    this.#s = state;
    this.#reader = new FrameReader(options.maxFrameSize);
    this.#headers = new HeaderBlockAssembler(Math.max(2 * state.maxHeaderList, 16384));
    this.#control = new ControlFrames(state, options.floodLimits, options.now);
    this.#onStream = options.onStream;
    this.#prefaceSeen = state.role === "client";
  }

  /** Sets the connection receive window we announced after the preface. */
  set recvWindow(size: number) {
    this.#recvWindow = size;
  }

  /** Memory for the next socket read (invalidates views of earlier frames). */
  space(): Uint8Array {
    return this.#reader.space();
  }

  /**
   * Processes `n` bytes read into `space()`: every complete frame is
   * checked and dispatched.
   *
   * @throws {H2Error} A connection error (the connection sends GOAWAY).
   * @throws {HpackError} A header block that cannot be decoded.
   */
  received(n: number): void {
    const reader = this.#reader;
    reader.commit(n);
    if (!this.#prefaceSeen) {
      const preface = reader.take(CONNECTION_PREFACE.length);
      if (preface === undefined) return;
      if (!preface.every((b, i) => b === CONNECTION_PREFACE[i])) {
        throw new H2Error("Invalid connection preface", ErrorCode.PROTOCOL_ERROR);
      }
      this.#prefaceSeen = true;
    }
    while (!this.#s.closing && reader.next()) {
      try {
        this.#onFrame(reader.type, reader.flags, reader.streamId, reader.payload);
      } catch (e) {
        if (!(e instanceof H2Error) || e.streamId === undefined) throw e;
        this.#streamError(e.streamId, e.code, e.message);
      }
    }
  }

  #streamError(id: number, code: number, message: string): void {
    this.#control.calm("streamErrors");
    const stream = this.#s.streams.get(id);
    this.#s.writer.out.rstStream(id, code);
    this.#s.writer.schedule(); // may end the connection (output cap), which aborts every stream
    if (stream === undefined || stream.done) return;
    this.#s.remove(stream);
    stream.handler.onAbort(
      new ConnectError(`HTTP/2 stream error: ${message}`, codeFromRstStream(code)),
    );
  }

  #onFrame(type: number, flags: number, id: number, payload: Uint8Array): void {
    if (this.#headers.streamId !== 0 && type !== FrameType.CONTINUATION) {
      throw new H2Error("Expected CONTINUATION", ErrorCode.PROTOCOL_ERROR);
    }
    if (!this.#control.settingsSeen && (type !== FrameType.SETTINGS || (flags & Flag.ACK) !== 0)) {
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
        return this.#control.onRstStream(id, payload);
      case FrameType.SETTINGS:
        return this.#control.onSettings(flags, id, payload);
      case FrameType.PUSH_PROMISE:
        throw new H2Error("PUSH_PROMISE is not enabled", ErrorCode.PROTOCOL_ERROR);
      case FrameType.PING:
        if (id !== 0) throw new H2Error("PING on a stream", ErrorCode.PROTOCOL_ERROR);
        if (payload.length !== 8) throw new H2Error("PING length", ErrorCode.FRAME_SIZE_ERROR);
        if ((flags & Flag.ACK) === 0) {
          this.#control.calm("pings");
          this.#s.writer.out.ping(payload, true);
          this.#s.writer.schedule();
        }
        return;
      case FrameType.GOAWAY:
        return this.#control.onGoaway(id, payload);
      case FrameType.WINDOW_UPDATE:
        return this.#control.onWindowUpdate(id, payload);
      default:
        return; // Unknown frame types are ignored (RFC 9113, section 4.1).
    }
  }

  #onHeaderBlock(id: number, endStream: boolean, block: Uint8Array): void {
    let fields: HeaderList | null;
    try {
      fields = this.#decoder.decode(block, this.#s.maxHeaderList);
    } catch (e) {
      throw new H2Error(
        `Cannot decode headers: ${(e as Error).message}`,
        ErrorCode.COMPRESSION_ERROR,
      );
    }
    let stream = this.#s.streams.get(id);
    if (stream === undefined) {
      if (!this.#s.idle(id)) return; // A stream we reset or finished; the block only fed HPACK.
      if (this.#s.role === "client" || (id & 1) === 0) {
        throw new H2Error(`HEADERS on idle stream ${id}`, ErrorCode.PROTOCOL_ERROR);
      }
      this.#s.lastPeerStreamId = id;
      if (this.#s.closing || this.#s.goawaySent || this.#s.streams.size >= this.#s.maxStreams) {
        // past our advertised limit (not past our GOAWAY, which a peer may not have seen yet)
        if (!this.#s.closing && !this.#s.goawaySent) this.#control.calm("streamErrors");
        this.#s.writer.out.rstStream(id, ErrorCode.REFUSED_STREAM);
        this.#s.writer.schedule();
        return;
      }
      stream = new H2Stream(id, NOOP_HANDLER, this.#s.peerInitialWindow, this.#s.initialWindow);
      this.#s.streams.set(id, stream);
      stream.remoteClosed = endStream;
      stream.handler = this.#onStream?.(stream, fields, endStream) ?? NOOP_HANDLER;
      if (endStream) this.#s.maybeRemove(stream);
      return;
    }
    if (stream.remoteClosed) {
      throw new H2Error("HEADERS after END_STREAM", ErrorCode.STREAM_CLOSED, id);
    }
    if (this.#s.role === "server" && !endStream) {
      throw new H2Error("Trailers without END_STREAM", ErrorCode.PROTOCOL_ERROR, id);
    }
    if (endStream) stream.remoteClosed = true;
    stream.handler.onHeaders(fields, endStream);
    if (endStream) this.#s.maybeRemove(stream);
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
    if (this.#recvUnacked >= this.#s.connWindow >>> 1) {
      this.#s.writer.out.windowUpdate(0, this.#recvUnacked);
      this.#recvWindow += this.#recvUnacked;
      this.#recvUnacked = 0;
      this.#s.writer.schedule();
    }
    const stream = this.#s.streams.get(id);
    if (stream === undefined) {
      if (this.#s.idle(id)) {
        throw new H2Error(`DATA on idle stream ${id}`, ErrorCode.PROTOCOL_ERROR);
      }
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
    else if (length > data.length) this.#s.consume(stream, length - data.length);
    stream.handler.onData(data, endStream);
    if (endStream) this.#s.maybeRemove(stream);
  }
}
