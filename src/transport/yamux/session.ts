/**
 * A yamux session (hashicorp/yamux, as go-plugin ≥ 1.5 multiplexes its
 * gRPC connections): many {@linkcode YamuxStream}s over one connection.
 *
 * Bounded against a hostile peer: at most `maxStreams` streams open at
 * once (SYNs past it are reset), each buffering at most its 256 KiB window
 * (a peer sending past it breaks the protocol), at most `maxPendingFrames`
 * frames queued to write (a peer that floods pings or SYNs while not
 * reading its side is cut off), and no frame longer than a window is read.
 * A protocol error sends GO_AWAY(protocol error) and closes the connection.
 *
 * @module
 */
import type { ByteStream } from "../h2/byte_stream.ts";
import { encodeFrame, Flag, type FrameHeader, FrameType, GoAwayCode } from "./frame.ts";
import { readFrames } from "./_frame_reader.ts";
import { settledWithin } from "../../_timing.ts";
import { type StreamOwner, YamuxStream } from "./stream.ts";

/** Options for {@linkcode YamuxSession}. */
export interface YamuxSessionOptions {
  /** `"client"` opens odd stream ids (go-plugin's host), `"server"` even ones (its plugin). */
  role: "client" | "server";
  /**
   * Streams open at once, both directions together (each may buffer 256 KiB).
   * @default {128}
   */
  maxStreams?: number;
  /**
   * Frames waiting to be written before the session gives up on the peer
   * (more than one read of its frames can ask for).
   * @default {16384}
   */
  maxPendingFrames?: number;
}

/** The peer broke the yamux protocol or its bounds; the session ended. */
export class YamuxProtocolError extends Error {
  /** @param message What the peer did. */
  constructor(message: string) {
    super(message);
    this.name = "YamuxProtocolError";
  }
}

/**
 * One yamux session over a connection it owns.
 *
 * @example
 * ```ts ignore
 * const session = new YamuxSession(await Deno.connect({ transport: "unix", path }), { role: "client" });
 * const stream = session.open();
 * for await (const incoming of session) incoming.close();
 * await session.close();
 * ```
 */
export class YamuxSession implements StreamOwner, AsyncIterable<YamuxStream> {
  #conn: ByteStream;
  #nextId: number;
  #maxStreams: number;
  #maxPending: number;
  #streams = new Map<number, YamuxStream>();
  #backlog: YamuxStream[] = [];
  #wakeAccept: (() => void) | undefined;
  #writing: Promise<void> = Promise.resolve();
  #queue: { bytes: Uint8Array; resolve: () => void; reject: (error: unknown) => void }[] = [];
  #flushing = false;
  #ended: Error | undefined;
  #reading: Promise<void>;
  #connClosed: Promise<void> = Promise.resolve();
  #closing: Promise<void> | undefined;

  /**
   * @param conn The connection; the session reads it at once and closes it when it ends.
   * @param options Role and bounds.
   */
  constructor(conn: ByteStream, options: YamuxSessionOptions) {
    this.#conn = conn;
    this.#nextId = options.role === "client" ? 1 : 2;
    this.#maxStreams = options.maxStreams ?? 128;
    this.#maxPending = options.maxPendingFrames ?? 16384;
    this.#reading = this.#read();
  }

  /** Why the session ended, once it did. */
  get ended(): Error | undefined {
    return this.#ended;
  }

  /** How many streams are open (for tests and limits). */
  get streamCount(): number {
    return this.#streams.size;
  }

  /**
   * Opens a stream (its SYN goes out at once; data may follow before the ACK).
   *
   * @throws {Error} When the session ended or `maxStreams` are open.
   */
  open(): YamuxStream {
    if (this.#ended) throw this.#ended;
    if (this.#streams.size >= this.#maxStreams) {
      throw new Error(`Cannot open a yamux stream: ${this.#maxStreams} streams are open`);
    }
    const id = this.#nextId;
    this.#nextId += 2;
    const stream = new YamuxStream(id, this, Flag.Syn);
    this.#streams.set(id, stream);
    stream.announce();
    return stream;
  }

  /** Waits for the next stream the peer opens; `null` once the session ended. */
  async accept(): Promise<YamuxStream | null> {
    while (this.#backlog.length === 0) {
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wakeAccept = resolve);
    }
    const stream = this.#backlog.shift()!;
    stream.announce(); // the ACK
    return stream;
  }

  /** The streams the peer opens, until the session ends. */
  async *[Symbol.asyncIterator](): AsyncIterator<YamuxStream> {
    while (true) {
      const stream = await this.accept();
      if (stream === null) return;
      yield stream;
    }
  }

  /** Resolves when the session has ended and its connection is closed; never rejects. */
  get closed(): Promise<void> {
    return this.#reading;
  }

  /** Sends GO_AWAY(normal), ends every stream and closes the connection. Idempotent. */
  close(): Promise<void> {
    return this.#closing ??= (async () => {
      this.#end(
        new Deno.errors.ConnectionAborted("the yamux session was closed"),
        GoAwayCode.Normal,
      );
      await this.#reading;
    })();
  }

  /** See {@linkcode StreamOwner.send}. */
  send(header: FrameHeader, payload?: Uint8Array): Promise<void> {
    if (this.#ended) return Promise.reject(this.#ended);
    if (this.#queue.length >= this.#maxPending) {
      this.#end(
        new YamuxProtocolError(`the peer left more than ${this.#maxPending} frames unread`),
        GoAwayCode.ProtocolError,
      );
      return Promise.reject(this.#ended);
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ bytes: encodeFrame(header, payload), resolve, reject });
      if (this.#queue.length === 1 && !this.#flushing) this.#writing = this.#flush();
    });
  }

  /** Writes queued frames, as many at once as are queued. */
  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue;
        this.#queue = [];
        const bytes = batch.length === 1 ? batch[0]!.bytes : concat(batch.map((f) => f.bytes));
        try {
          for (let offset = 0; offset < bytes.length;) {
            offset += await this.#conn.write(bytes.subarray(offset));
          }
        } catch (error) {
          for (const frame of [...batch, ...this.#queue]) frame.reject(error);
          this.#queue = [];
          this.#end(error as Error);
          return;
        }
        for (const frame of batch) frame.resolve();
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** See {@linkcode StreamOwner.forget}. */
  forget(stream: YamuxStream): void {
    if (this.#streams.get(stream.id) === stream) this.#streams.delete(stream.id);
  }

  async #read(): Promise<void> {
    try {
      for await (const { header, payload } of readFrames(this.#conn)) {
        this.#dispatch(header, payload);
        if (this.#ended) break;
      }
      this.#end(new Deno.errors.UnexpectedEof("the yamux peer hung up"), GoAwayCode.Normal);
    } catch (error) {
      const protocol = error instanceof YamuxProtocolError || error instanceof RangeError;
      this.#end(
        protocol ? new YamuxProtocolError((error as Error).message) : error as Error,
        protocol ? GoAwayCode.ProtocolError : undefined,
      );
    }
    await this.#connClosed;
  }

  #dispatch(header: FrameHeader, payload: Uint8Array | undefined): void {
    const { type, flags, streamId, length } = header;
    if (type === FrameType.Ping) {
      if (flags & Flag.Syn) {
        void this.send({ type, flags: Flag.Ack, streamId: 0, length }).catch(() => {});
      }
      return;
    }
    if (type === FrameType.GoAway) {
      this.#end(new Deno.errors.ConnectionAborted(`the yamux peer went away (code ${length})`));
      return;
    }
    if (streamId === 0) throw new YamuxProtocolError(`a stream frame on stream 0`);
    let stream = this.#streams.get(streamId);
    if (flags & Flag.Syn) stream = this.#incoming(streamId);
    if (stream === undefined) return; // a stream this side forgot (closed or reset)
    if (type === FrameType.Data) {
      if (!stream.receive(payload!)) {
        throw new YamuxProtocolError(`stream ${streamId} received more than its window`);
      }
    } else stream.grow(length);
    if (flags & (Flag.Fin | Flag.Rst)) stream.onFlags(flags);
  }

  #incoming(id: number): YamuxStream | undefined {
    const peerParity = this.#nextId % 2 === 1 ? 0 : 1;
    // ids of the peer's parity, and not one open now; not necessarily
    // ascending: hashicorp/yamux allocates ids in order but sends the SYNs of
    // streams opened at once in any order
    if (id % 2 !== peerParity) {
      throw new YamuxProtocolError(`the peer opened stream ${id}, an id of this side's`);
    }
    if (this.#streams.has(id)) {
      throw new YamuxProtocolError(`the peer opened stream ${id} again while it is open`);
    }
    if (this.#streams.size >= this.#maxStreams) {
      void this.send({ type: FrameType.WindowUpdate, flags: Flag.Rst, streamId: id, length: 0 })
        .catch(() => {});
      return undefined;
    }
    const stream = new YamuxStream(id, this, Flag.Ack);
    this.#streams.set(id, stream);
    this.#backlog.push(stream);
    const wake = this.#wakeAccept;
    this.#wakeAccept = undefined;
    wake?.();
    return stream;
  }

  #end(error: Error, goAway?: number): void {
    if (this.#ended) return;
    this.#ended = error;
    for (const stream of [...this.#streams.values()]) stream.fail(error);
    this.#streams.clear();
    this.#backlog = [];
    const wake = this.#wakeAccept;
    this.#wakeAccept = undefined;
    wake?.();
    // last words, then the connection closes: once written, or after a
    // second when the peer does not read them
    const lastWords = this.#writing.then(async () => {
      for (const frame of this.#queue) frame.reject(error);
      this.#queue = [];
      if (goAway === undefined) return;
      await this.#conn.write(
        encodeFrame({ type: FrameType.GoAway, flags: 0, streamId: 0, length: goAway }),
      );
    }).then(() => {}, () => {});
    this.#connClosed = settledWithin(lastWords, 1000).then(() => {
      try {
        this.#conn.close();
      } catch {
        // Already closed.
      }
    });
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}
