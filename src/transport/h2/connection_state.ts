/**
 * The state an HTTP/2 connection's two halves share: the stream table,
 * both sides' settings, the GOAWAY and closing flags, the output, and the
 * bookkeeping of a stream that ends. {@linkcode Connection} (the API and
 * lifecycle) and {@linkcode Inbound} (frames from the peer) each hold it.
 *
 * @module
 */
import type { ConnectError } from "../../npm/connect.ts";
import { DEFAULT_WINDOW_SIZE } from "./frame.ts";
import type { Outbound } from "./outbound.ts";
import { connectionLost, type H2Stream } from "./stream.ts";
import type { SocketWriter } from "./writer.ts";

/** What the state calls back into the connection for. */
export interface ConnectionHooks {
  /** New streams can no longer be opened (GOAWAY, closing, ids exhausted). */
  drained(): void;
  /** Ends the connection: streams abort with `error`; `flush` sends what is buffered first. */
  terminate(error: ConnectError, flush: boolean): void;
}

/** The shared state of one connection. */
export class ConnectionState {
  /** Which side we are. */
  readonly role: "client" | "server";
  /** Open streams by id. */
  readonly streams: Map<number, H2Stream> = new Map();
  /** The coalescing socket writer. */
  readonly writer: SocketWriter;
  /** Frames streams' headers and data within flow control. */
  out!: Outbound;
  /** Streams the peer may open at once (server role). */
  maxStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE we advertise and enforce. */
  maxHeaderList: number;
  /** Our SETTINGS_INITIAL_WINDOW_SIZE. */
  initialWindow: number;
  /** Our connection receive window. */
  connWindow: number;
  /** The next id for a stream we open. */
  nextStreamId = 1;
  /** The highest stream id the peer opened. */
  lastPeerStreamId = 0;
  /** The peer's SETTINGS_INITIAL_WINDOW_SIZE. */
  peerInitialWindow = DEFAULT_WINDOW_SIZE;
  /** The peer's SETTINGS_MAX_CONCURRENT_STREAMS. */
  peerMaxStreams = Infinity;
  /** We sent GOAWAY. */
  goawaySent = false;
  /** The peer sent GOAWAY. */
  goawayReceived = false;
  /** The connection is ending; nothing more is sent or dispatched. */
  closing = false;
  /** Callers waiting for a stream slot. */
  slotWaiters: (() => void)[] = [];
  #hooks: ConnectionHooks;

  /**
   * @param role Our side.
   * @param writer The socket writer.
   * @param limits Our advertised limits and windows.
   * @param hooks Calls back into the connection.
   */
  constructor(
    role: "client" | "server",
    writer: SocketWriter,
    limits: {
      maxStreams: number;
      maxHeaderList: number;
      initialWindow: number;
      connWindow: number;
    },
    hooks: ConnectionHooks,
  ) {
    this.role = role;
    this.writer = writer;
    this.maxStreams = limits.maxStreams;
    this.maxHeaderList = limits.maxHeaderList;
    this.initialWindow = limits.initialWindow;
    this.connWindow = limits.connWindow;
    this.#hooks = hooks;
  }

  /** See {@linkcode ConnectionHooks.drained}. */
  drained(): void {
    this.#hooks.drained();
  }

  /** See {@linkcode ConnectionHooks.terminate}. */
  terminate(error: ConnectError, flush: boolean): void {
    this.#hooks.terminate(error, flush);
  }

  /** True when `id` names a stream that was never opened (as opposed to one that closed). */
  idle(id: number): boolean {
    const peerInitiated = (id & 1) === (this.role === "server" ? 1 : 0);
    return peerInitiated ? id > this.lastPeerStreamId : id >= this.nextStreamId;
  }

  /** Wakes every caller waiting for a slot. */
  wakeSlotWaiters(): void {
    const waiters = this.slotWaiters;
    this.slotWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Returns `n` received bytes to the peer's window once the call has consumed them. */
  consume(stream: H2Stream, n: number): void {
    if (stream.done || stream.remoteClosed || n === 0) return;
    stream.unacked += n;
    if (stream.unacked >= this.initialWindow >>> 1) {
      this.writer.out.windowUpdate(stream.id, stream.unacked);
      stream.recvWindow += stream.unacked;
      stream.unacked = 0;
      this.writer.schedule();
    }
  }

  /** Forgets a stream once both halves are closed. */
  maybeRemove(stream: H2Stream): void {
    if (stream.localClosed && stream.remoteClosed) this.remove(stream);
  }

  /** Forgets a stream (closed or reset); its handler is not called. */
  remove(stream: H2Stream): void {
    if (stream.done) return;
    stream.done = true;
    stream.localClosed = stream.remoteClosed = true;
    stream.queue = [];
    stream.queuedBytes = 0;
    this.streams.delete(stream.id);
    this.out.forget(stream);
    stream.wake();
    if (this.slotWaiters.length > 0) this.slotWaiters.shift()!();
    if (this.streams.size === 0 && (this.goawaySent || this.goawayReceived)) {
      this.terminate(connectionLost("Connection drained"), true);
    }
  }
}
