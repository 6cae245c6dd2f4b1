/**
 * The bytes an HTTP/2 connection runs over: a plain Deno socket (Unix or
 * TCP), or a TLS socket from `node:tls` (for AutoMTLS, see
 * `../pinned_tls.ts`) adapted to the same three methods.
 *
 * @module
 */
import type { TLSSocket } from "node:tls";
import type { DialTls, SocketAddress } from "../transport.ts";

/** What a connection needs of its socket: `Deno.Conn`'s read, write and close. */
export interface ByteStream {
  /** Reads into `p`; resolves with the count, or `null` at the end of the stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes (some of) `p`; resolves with the count written. */
  write(p: Uint8Array): Promise<number>;
  /** Closes the stream; pending reads end. */
  close(): void;
}

/** Bytes buffered from a TLS socket before it is paused. */
const HIGH_WATER = 1 << 20;

/** A `node:tls` socket as a {@linkcode ByteStream}. */
export class NodeSocketStream implements ByteStream {
  #socket: TLSSocket;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #closed = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;
  #writing = new Set<(error: Error) => void>();

  /** @param socket A connected socket; the stream owns and destroys it. */
  constructor(socket: TLSSocket) {
    this.#socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered > HIGH_WATER) socket.pause();
      this.#notify();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("error", (error: Error) => {
      this.#error ??= error;
      this.#notify();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#notify();
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#closed) throw new Deno.errors.BadResource("the stream is closed");
      if (this.#error) throw new Deno.errors.ConnectionReset(this.#error.message);
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    const chunk = this.#chunks[0]!;
    const n = Math.min(chunk.length, p.length);
    p.set(chunk.subarray(0, n));
    if (n === chunk.length) this.#chunks.shift();
    else this.#chunks[0] = chunk.subarray(n);
    this.#buffered -= n;
    if (this.#buffered <= HIGH_WATER && this.#socket.isPaused()) this.#socket.resume();
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("the stream is closed"));
    // the socket may keep `p` until the callback: the caller must not reuse it before then
    const copy = p.slice();
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => {
        this.#writing.delete(fail);
        reject(error);
      };
      this.#writing.add(fail);
      this.#socket.write(copy, (error?: Error | null) => {
        this.#writing.delete(fail);
        if (error) reject(new Deno.errors.BrokenPipe(error.message));
        else resolve(copy.length);
      });
    });
  }

  /** Closes the socket; a write still pending (a peer that stopped reading) fails, as on a `Deno.Conn`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fail of [...this.#writing]) {
      fail(new Deno.errors.Interrupted("the stream was closed"));
    }
    this.#socket.destroy();
    this.#notify();
  }
}

/**
 * Connects to `address`, with mutual TLS when `tls` is given.
 *
 * @param address Where the server listens.
 * @param tls The client certificate and the pinned server certificate.
 * @returns The connected stream.
 * @throws {Deno.errors.NotFound | Deno.errors.ConnectionRefused | Error} When it cannot connect.
 */
export async function openByteStream(
  address: SocketAddress,
  tls?: DialTls,
): Promise<ByteStream> {
  if (tls !== undefined) {
    // loaded on demand: node:tls costs a plugin ~8 MB of RSS and time at start
    const { connectPinnedTls } = await import("../pinned_tls.ts");
    return new NodeSocketStream(await connectPinnedTls(address, tls));
  }
  if (address.network === "unix") {
    return await Deno.connect({ transport: "unix", path: address.path });
  }
  const conn = await Deno.connect({
    transport: "tcp",
    hostname: address.hostname,
    port: address.port,
  });
  conn.setNoDelay(true);
  return conn;
}
