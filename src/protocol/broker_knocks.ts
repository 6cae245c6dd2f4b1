/**
 * The knocks of go-plugin's multiplexed broker (≥ 1.5), either side: a
 * dialer sends `ConnInfo{service_id, knock: {knock: true}}` on the broker
 * stream and waits for `{knock: true, ack: true, error}`; the other side
 * answers, and gives the dialer's next multiplexed stream to that id's
 * server. Used by {@linkcode BrokerEndpoint} (`broker_endpoint.ts`).
 *
 * @module
 */
import { create } from "../npm/protobuf.ts";
import { type ConnInfo, ConnInfoSchema } from "../gen/plugin/grpc_broker_pb.ts";
import { DEFAULT_BROKER_DIAL_TIMEOUT_MS } from "./broker_announcements.ts";
import { ABORTED, deadline, orAborted } from "../_timing.ts";

/** Longest error text kept from a peer's ack, in characters. */
const MAX_ACK_ERROR = 512;

/**
 * Knocks this side waits on, and how it answers the peer's.
 *
 * @example
 * ```ts
 * import { BrokerKnocks } from "./broker_knocks.ts";
 * const sent: unknown[] = [];
 * const knocks = new BrokerKnocks((info) => sent.push(info));
 * knocks.answerWith((id) => id === 1 ? "" : "no server");
 * if (!knocks.take({ serviceId: 1, knock: { knock: true, ack: false, error: "" } } as never)) {
 *   throw new Error();
 * }
 * if (sent.length !== 1) throw new Error("acknowledged");
 * ```
 */
export class BrokerKnocks {
  #send: (info: ConnInfo) => void;
  #answer: ((id: number) => string) | undefined;
  #waiting = new Map<number, (error: string) => void>();

  /** @param send Queues a message on the broker stream. */
  constructor(send: (info: ConnInfo) => void) {
    this.#send = send;
  }

  /** How to answer the peer's knocks (`""`: accepted); unset, they are ignored. */
  answerWith(answer: ((id: number) => string) | undefined): void {
    this.#answer = answer;
  }

  /**
   * Takes `info` when it is a knock or an ack.
   *
   * @returns Whether it was one.
   * @throws What `send` throws (the broker stream's bound).
   */
  take(info: ConnInfo): boolean {
    const knock = info.knock;
    if (!knock?.knock) return false;
    if (knock.ack) {
      const wake = this.#waiting.get(info.serviceId);
      this.#waiting.delete(info.serviceId);
      wake?.(knock.error.slice(0, MAX_ACK_ERROR));
    } else if (this.#answer !== undefined) {
      const error = this.#answer(info.serviceId);
      this.#send(create(ConnInfoSchema, {
        serviceId: info.serviceId,
        knock: { knock: true, ack: true, error },
      }));
    } // not multiplexed: a go-plugin peer never knocks then
    return true;
  }

  /**
   * Knocks on `id` and waits for the ack.
   *
   * @returns `""` when accepted, else why not (the peer's error, no answer in time, the end).
   */
  async knock(id: number, timeoutMs = DEFAULT_BROKER_DIAL_TIMEOUT_MS): Promise<string> {
    const limit = deadline(timeoutMs);
    const answer = new Promise<string>((resolve) => this.#waiting.set(id, resolve));
    try {
      this.#send(create(ConnInfoSchema, { serviceId: id, knock: { knock: true } }));
      const error = await orAborted(answer, limit.signal);
      return error === ABORTED ? `no answer within ${timeoutMs} ms` : error;
    } finally {
      limit.clear();
      this.#waiting.delete(id);
    }
  }

  /** Ends every wait with `why`. */
  end(why: string): void {
    for (const wake of this.#waiting.values()) wake(why);
    this.#waiting.clear();
  }
}
