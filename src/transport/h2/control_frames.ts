/**
 * The control frames of an HTTP/2 connection's receiving half (RFC 9113,
 * section 6): RST_STREAM, SETTINGS, GOAWAY, WINDOW_UPDATE, and the flood
 * guard that counts the frames a peer can make us answer (PING, SETTINGS,
 * RST_STREAM, and the stream errors it provokes). Stream frames (HEADERS,
 * DATA) stay in {@linkcode Inbound}.
 *
 * @module
 */
import { ConnectError } from "../../npm/connect.ts";
import {
  DEFAULT_MAX_FRAME_SIZE,
  ErrorCode,
  Flag,
  H2Error,
  MAX_WINDOW_SIZE,
  Setting,
} from "./frame.ts";
import type { ConnectionState } from "./connection_state.ts";
import { FLOOD_NAMES, FloodGuard, type FloodKind, type FloodLimits } from "./flood_guard.ts";
import { codeFromRstStream, connectionLost, STREAM_REFUSED } from "./stream.ts";

const u32 = (b: Uint8Array, p: number): number =>
  (b[p]! << 24 | b[p + 1]! << 16 | b[p + 2]! << 8 | b[p + 3]!) >>> 0;

/** Applies the peer's control frames to the connection's shared state. */
export class ControlFrames {
  /** The peer's first SETTINGS arrived. */
  settingsSeen = false;
  #s: ConnectionState;
  #flood: FloodGuard;

  /**
   * @param state The connection's shared state.
   * @param limits Flood limits.
   * @param now The flood limits' clock, in milliseconds.
   */
  constructor(state: ConnectionState, limits?: FloodLimits, now?: () => number) {
    this.#s = state;
    this.#flood = new FloodGuard(limits, now);
  }

  /** Counts a frame the peer makes us work for; ends the connection on a flood. */
  calm(kind: FloodKind): void {
    if (!this.#flood.allow(kind)) {
      throw new H2Error(`Too many ${FLOOD_NAMES[kind]} from the peer`, ErrorCode.ENHANCE_YOUR_CALM);
    }
  }

  /** Handles RST_STREAM: the stream aborts (REFUSED_STREAM ones may be retried). */
  onRstStream(id: number, payload: Uint8Array): void {
    if (id === 0) throw new H2Error("RST_STREAM on stream 0", ErrorCode.PROTOCOL_ERROR);
    if (payload.length !== 4) throw new H2Error("RST_STREAM length", ErrorCode.FRAME_SIZE_ERROR);
    const stream = this.#s.streams.get(id);
    if (stream === undefined) {
      if (this.#s.idle(id)) {
        throw new H2Error("RST_STREAM on idle stream", ErrorCode.PROTOCOL_ERROR);
      }
      return;
    }
    this.calm("resets");
    const code = u32(payload, 0);
    this.#s.remove(stream);
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

  /** Handles SETTINGS (and their ACK): applies the peer's settings and acknowledges them. */
  onSettings(flags: number, id: number, payload: Uint8Array): void {
    if (id !== 0) throw new H2Error("SETTINGS on a stream", ErrorCode.PROTOCOL_ERROR);
    if (flags & Flag.ACK) {
      if (payload.length !== 0) {
        throw new H2Error("SETTINGS ACK length", ErrorCode.FRAME_SIZE_ERROR);
      }
      return;
    }
    if (payload.length % 6 !== 0) throw new H2Error("SETTINGS length", ErrorCode.FRAME_SIZE_ERROR);
    if (this.settingsSeen) this.calm("settings");
    this.settingsSeen = true;
    for (let p = 0; p < payload.length; p += 6) {
      const key = payload[p]! << 8 | payload[p + 1]!;
      const value = u32(payload, p + 2);
      switch (key) {
        case Setting.HEADER_TABLE_SIZE:
          this.#s.out.setHeaderTableSize(value);
          break;
        case Setting.ENABLE_PUSH:
          if (value > 1 || (value === 1 && this.#s.role === "client")) {
            throw new H2Error("Invalid SETTINGS_ENABLE_PUSH", ErrorCode.PROTOCOL_ERROR);
          }
          break;
        case Setting.MAX_CONCURRENT_STREAMS:
          this.#s.peerMaxStreams = value;
          break;
        case Setting.INITIAL_WINDOW_SIZE:
          this.#setPeerInitialWindow(value);
          break;
        case Setting.MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME_SIZE || value > 0xffffff) {
            throw new H2Error("Invalid SETTINGS_MAX_FRAME_SIZE", ErrorCode.PROTOCOL_ERROR);
          }
          this.#s.out.peerMaxFrame = value;
          break;
      }
    }
    this.#s.writer.out.settings([], true);
    this.#s.writer.schedule();
    this.#s.wakeSlotWaiters();
  }

  #setPeerInitialWindow(value: number): void {
    if (value > MAX_WINDOW_SIZE) {
      throw new H2Error("Invalid SETTINGS_INITIAL_WINDOW_SIZE", ErrorCode.FLOW_CONTROL_ERROR);
    }
    const delta = value - this.#s.peerInitialWindow;
    this.#s.peerInitialWindow = value;
    for (const stream of this.#s.streams.values()) {
      stream.sendWindow += delta;
      if (stream.sendWindow > MAX_WINDOW_SIZE) {
        throw new H2Error("Stream window overflow", ErrorCode.FLOW_CONTROL_ERROR);
      }
    }
    if (delta > 0) {
      for (const stream of [...this.#s.streams.values()]) {
        this.#s.out.flush(stream);
      }
    }
  }

  /** Handles GOAWAY: streams past its last id abort as refused; no new streams. */
  onGoaway(id: number, payload: Uint8Array): void {
    if (id !== 0) throw new H2Error("GOAWAY on a stream", ErrorCode.PROTOCOL_ERROR);
    if (payload.length < 8) throw new H2Error("GOAWAY length", ErrorCode.FRAME_SIZE_ERROR);
    const lastStreamId = u32(payload, 0) & 0x7fffffff;
    const code = u32(payload, 4);
    this.#s.goawayReceived = true;
    for (const stream of [...this.#s.streams.values()]) {
      if (stream.id <= lastStreamId || (stream.id & 1) !== (this.#s.role === "client" ? 1 : 0)) {
        continue;
      }
      this.#s.remove(stream);
      stream.handler.onAbort(
        connectionLost(`Stream refused by GOAWAY (code ${code}) before processing`, STREAM_REFUSED),
      );
    }
    this.#s.drained();
  }

  /** Handles WINDOW_UPDATE on the connection or a stream, sending what it unblocks. */
  onWindowUpdate(id: number, payload: Uint8Array): void {
    if (payload.length !== 4) throw new H2Error("WINDOW_UPDATE length", ErrorCode.FRAME_SIZE_ERROR);
    const increment = u32(payload, 0) & 0x7fffffff;
    if (id === 0) {
      if (increment === 0) throw new H2Error("WINDOW_UPDATE of 0", ErrorCode.PROTOCOL_ERROR);
      this.#s.out.addConnectionWindow(increment);
      return;
    }
    const stream = this.#s.streams.get(id);
    if (stream === undefined) {
      if (this.#s.idle(id)) {
        throw new H2Error("WINDOW_UPDATE on idle stream", ErrorCode.PROTOCOL_ERROR);
      }
      return;
    }
    if (increment === 0) throw new H2Error("WINDOW_UPDATE of 0", ErrorCode.PROTOCOL_ERROR, id);
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW_SIZE) {
      throw new H2Error("Stream window overflow", ErrorCode.FLOW_CONTROL_ERROR, id);
    }
    this.#s.out.flush(stream);
  }
}
