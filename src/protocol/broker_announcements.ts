/**
 * go-plugin's broker announcements, either side: the peer announces a
 * brokered server with a `ConnInfo` on the `StartStream` stream; a dial of
 * that id waits for it. Shared by the host's broker and the SDK's.
 *
 * @module
 */
import type { ConnInfo } from "../gen/plugin/grpc_broker_pb.ts";
import { deadline, orAborted } from "../_timing.ts";

/** How long a broker dial waits for the peer's announcement when not told, in milliseconds. */
export const DEFAULT_BROKER_DIAL_TIMEOUT_MS = 5000;

/**
 * How many announcements may wait to be dialed when not told: go-plugin
 * announces one per `AcceptAndServe`, and a dial takes it, so a peer far
 * past this is filling its host's memory, not serving.
 */
export const DEFAULT_MAX_BROKER_ANNOUNCEMENTS = 16;

/**
 * The longest announced network plus address, in characters: a Unix socket
 * path is at most 107 bytes, a `host:port` less.
 */
export const MAX_BROKER_ADDRESS_LENGTH = 512;

/**
 * The peer broke the bounds of the broker stream: more announcements
 * waiting than allowed, or an address longer than any real one. The
 * message says what the peer did, e.g. `"announced more than 16 broker
 * connections without being dialed"`; a host kills a plugin for it.
 */
export class BrokerAbuseError extends Error {
  /**
   * @param message What the peer did.
   */
  constructor(message: string) {
    super(message);
    this.name = "BrokerAbuseError";
  }
}

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
 * The announcements received and not yet dialed, by broker id (at most
 * `maxPending` of them, each address bounded), and the dials waiting for
 * theirs. Once ended (the stream closed), every wait fails with the ending
 * error.
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
  #maxPending: number;

  /**
   * @param maxPending How many announcements may wait to be dialed at once
   *   (default {@linkcode DEFAULT_MAX_BROKER_ANNOUNCEMENTS}).
   */
  constructor(maxPending: number = DEFAULT_MAX_BROKER_ANNOUNCEMENTS) {
    this.#maxPending = maxPending;
  }

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

  /**
   * Records the peer's announcement and wakes the dials waiting for it. A
   * new announcement of an id not yet dialed replaces the old one.
   *
   * @throws {BrokerAbuseError} When the address is longer than
   *   {@linkcode MAX_BROKER_ADDRESS_LENGTH}, or more than the allowed number
   *   of announcements would wait to be dialed; announcements end with it.
   */
  announce(info: ConnInfo): void {
    const length = info.network.length + info.address.length;
    if (length > MAX_BROKER_ADDRESS_LENGTH) {
      this.#abuse(
        `announced a broker address of ${length} characters (at most ${MAX_BROKER_ADDRESS_LENGTH})`,
      );
    }
    if (!this.#announced.has(info.serviceId) && this.#announced.size >= this.#maxPending) {
      this.#abuse(
        `announced more than ${this.#maxPending} broker connections without being dialed`,
      );
    }
    this.#announced.set(info.serviceId, info);
    for (const wake of this.#waiters.get(info.serviceId) ?? []) wake();
  }

  #abuse(what: string): never {
    const error = new BrokerAbuseError(what);
    this.#announced.clear();
    throw error;
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
    const limit = deadline(timeoutMs);
    const stop = signal === undefined ? limit.signal : AbortSignal.any([limit.signal, signal]);
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
        if (limit.signal.aborted) {
          throw new Error(
            `Cannot dial broker id ${id} of ${options.peer}: not announced within ${timeoutMs} ms`,
          );
        }
        let wake!: () => void;
        const woken = new Promise<void>((resolve) => waiters.add(wake = resolve));
        await orAborted(woken, stop);
        waiters.delete(wake);
      }
    } finally {
      limit.clear();
      if (waiters.size === 0) this.#waiters.delete(id);
    }
  }
}
