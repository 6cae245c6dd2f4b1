/**
 * Rate limits for the frames a peer can send to make us work without
 * doing any work of its own: PINGs and SETTINGS (each costs us an ACK),
 * RST_STREAM (each costs a stream set-up and teardown — the 2023 "rapid
 * reset" attack), and stream errors it provokes (a malformed PRIORITY, a
 * frame on a closed stream, a stream past our limit: each costs us an
 * RST_STREAM). Each kind has a token bucket: `perSecond` tokens a second,
 * at most `perSecond` saved up. A connection whose peer runs a bucket dry
 * ends with GOAWAY ENHANCE_YOUR_CALM.
 *
 * @module
 */

/** Frames a second a peer may send of each kind, with bursts of as many. */
export interface FloodLimits {
  /**
   * PING frames (not ACKs).
   * @default {1000}
   */
  pings?: number;
  /**
   * SETTINGS frames (not ACKs).
   * @default {100}
   */
  settings?: number;
  /**
   * RST_STREAM frames.
   * @default {1000}
   */
  resets?: number;
  /**
   * Stream errors the peer provokes, each answered with RST_STREAM (a
   * well-behaved peer provokes none).
   * @default {100}
   */
  streamErrors?: number;
}

/** The kinds of frames counted. */
export type FloodKind = "pings" | "settings" | "resets" | "streamErrors";

const DEFAULTS: Required<FloodLimits> = {
  pings: 1000,
  settings: 100,
  resets: 1000,
  streamErrors: 100,
};

/** How each kind reads in the error that ends a flood. */
export const FLOOD_NAMES: Readonly<Record<FloodKind, string>> = {
  pings: "pings",
  settings: "settings",
  resets: "resets",
  streamErrors: "stream errors",
};

/** Token buckets for one connection. */
export class FloodGuard {
  #rate: Required<FloodLimits>;
  #tokens: Record<FloodKind, number>;
  #last: Record<FloodKind, number>;
  #now: () => number;

  /**
   * @param limits Rates, defaults as documented on {@linkcode FloodLimits}.
   * @param now A clock in milliseconds (injected by tests).
   */
  constructor(limits: FloodLimits = {}, now: () => number = () => performance.now()) {
    this.#rate = { ...DEFAULTS, ...limits };
    this.#tokens = { ...this.#rate };
    const t = now();
    this.#last = { pings: t, settings: t, resets: t, streamErrors: t };
    this.#now = now;
  }

  /** Counts one frame of `kind`; false when the peer exceeded its rate. */
  allow(kind: FloodKind): boolean {
    const rate = this.#rate[kind];
    const now = this.#now();
    const elapsed = now - this.#last[kind];
    this.#last[kind] = now;
    const tokens = Math.min(rate, this.#tokens[kind] + elapsed * rate / 1000);
    if (tokens < 1) {
      this.#tokens[kind] = tokens;
      return false;
    }
    this.#tokens[kind] = tokens - 1;
    return true;
  }
}
