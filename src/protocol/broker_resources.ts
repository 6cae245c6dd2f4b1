/**
 * What a broker owns, either side: the socket slots its brokered servers
 * listen on (lowest free first, reused once a server closes; see
 * `broker_sockets.ts`), those servers, and the channels it dialed. Shared by
 * the host's broker and the SDK's.
 *
 * @module
 */
import type { GrpcChannel } from "../transport/transport.ts";

/** A server as the broker owns it: something to close (a `GrpcServer`, or a multiplexed one). */
export interface Closable {
  /** Stops it. Idempotent; never rejects. */
  close(): Promise<void>;
}

/**
 * The brokered servers and channels of one broker, closed together.
 *
 * @example
 * ```ts
 * import { BrokerResources } from "./broker_resources.ts";
 * const owned = new BrokerResources();
 * const first = owned.reserveSlot();
 * if (first !== 1 || owned.reserveSlot() !== 2) throw new Error();
 * owned.releaseSlot(first);
 * if (owned.reserveSlot() !== 1) throw new Error("slots are reused");
 * ```
 */
export class BrokerResources {
  #slots = new Set<number>();
  #servers = new Set<Closable>();
  #channels = new Set<GrpcChannel>();

  /** Takes the lowest free slot (1, 2, 3, …). */
  reserveSlot(): number {
    let slot = 1;
    while (this.#slots.has(slot)) slot++;
    this.#slots.add(slot);
    return slot;
  }

  /** Frees a slot whose server did not start. */
  releaseSlot(slot: number): void {
    this.#slots.delete(slot);
  }

  /**
   * Owns a server listening on `slot` until it closes.
   *
   * @returns An idempotent close that also frees the slot.
   */
  addServer(server: Closable, slot: number): () => Promise<void> {
    this.#servers.add(server);
    let closing: Promise<void> | undefined;
    return () =>
      closing ??= server.close().finally(() => {
        this.#servers.delete(server);
        this.#slots.delete(slot);
      });
  }

  /**
   * Owns a dialed channel until it closes.
   *
   * @returns An idempotent close.
   */
  addChannel(channel: GrpcChannel): () => Promise<void> {
    this.#channels.add(channel);
    let closing: Promise<void> | undefined;
    return () => closing ??= channel.close().finally(() => this.#channels.delete(channel));
  }

  /** Closes every server, then every channel. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#servers].map((s) => s.close()));
    await Promise.all([...this.#channels].map((c) => c.close()));
  }
}
