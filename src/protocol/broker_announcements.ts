/**
 * go-plugin's broker announcements, either side: the peer announces a
 * brokered server with a `ConnInfo` on the `StartStream` stream; a dial of
 * that id waits for it. Shared by the host's broker and the SDK's.
 *
 * @module
 */
import type { ConnInfo } from "../gen/plugin/grpc_broker_pb.ts";

/** How long a broker dial waits for the peer's announcement when not told, in milliseconds. */
export const DEFAULT_BROKER_DIAL_TIMEOUT_MS = 5000;

/** Options for {@linkcode BrokerAnnouncements.wait}. */
export interface AnnouncementWait {
  /**
   * How long to wait for the announcement, in milliseconds.
   * @default {5000}
   */
  timeoutMs?: number | undefined;
  /** Aborts the wait. */
  signal?: AbortSignal;
  /** Names the peer in the timeout's message, e.g. `plugin "kv"`. */
  peer: string;
}

/**
 * The announcements received and not yet dialed, by broker id, and the dials
 * waiting for theirs. Once ended (the stream closed), every wait fails with
 * the ending error.
 *
 * @example
 * ```ts
 * import { BrokerAnnouncements } from "./broker_announcements.ts";
 * import { create } from "../npm/protobuf.ts";
 * import { ConnInfoSchema } from "../gen/plugin/grpc_broker_pb.ts";
 * const announcements = new BrokerAnnouncements();
 * const waiting = announcements.wait(7, { timeoutMs: 1000, peer: "the host" });
 * announcements.announce(create(ConnInfoSchema, { serviceId: 7, network: "unix", address: "/x" }));
 * if ((await waiting).address !== "/x") throw new Error();
 * ```
 */
export class BrokerAnnouncements {
  #announced = new Map<number, ConnInfo>();
  #waiters = new Map<number, Set<() => void>>();
  #ended: Error | undefined;

  /** Why announcements ended, if they did. */
  get ended(): Error | undefined {
    return this.#ended;
  }

  /**
   * Checks that a serve or dial of `id` may go ahead.
   *
   * @throws {RangeError} When `id` is not a uint32.
   * @throws {Error} The ending error, once announcements ended.
   */
  check(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) {
      throw new RangeError(`Cannot use broker id ${id}: not a uint32`);
    }
    if (this.#ended !== undefined) throw this.#ended;
  }

  /** Records the peer's announcement and wakes the dials waiting for it. */
  announce(info: ConnInfo): void {
    this.#announced.set(info.serviceId, info);
    for (const wake of this.#waiters.get(info.serviceId) ?? []) wake();
  }

  /** Ends announcements: waits fail with `error` (the first one given). */
  end(error: Error): void {
    this.#ended ??= error;
    for (const waiters of this.#waiters.values()) for (const wake of waiters) wake();
  }

  /**
   * Waits for the announcement of `id` and takes it.
   *
   * @param id The broker id.
   * @param options Timeout, signal and the peer's name for messages.
   * @returns The announcement.
   * @throws {Error} When announcements ended, the signal aborted, or none came in time.
   */
  async wait(id: number, options: AnnouncementWait): Promise<ConnInfo> {
    const { timeoutMs = DEFAULT_BROKER_DIAL_TIMEOUT_MS, signal } = options;
    let wake!: () => void;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timedOut = false;
    const waiters = this.#waiters.get(id) ?? new Set();
    this.#waiters.set(id, waiters);
    try {
      while (true) {
        const info = this.#announced.get(id);
        if (info !== undefined) {
          this.#announced.delete(id);
          return info;
        }
        if (this.#ended !== undefined) throw this.#ended;
        signal?.throwIfAborted();
        if (timedOut) {
          throw new Error(
            `Cannot dial broker id ${id} of ${options.peer}: not announced within ${timeoutMs} ms`,
          );
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          waiters.add(wake);
          timer ??= setTimeout(() => {
            timedOut = true;
            wake();
          }, timeoutMs);
          signal?.addEventListener("abort", wake, { once: true });
        });
        waiters.delete(wake);
        signal?.removeEventListener("abort", wake);
      }
    } finally {
      clearTimeout(timer);
      if (waiters.size === 0) this.#waiters.delete(id);
    }
  }
}
