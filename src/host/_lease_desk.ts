/**
 * Who gets which process of a pool: the least busy ready one under its
 * limit of calls in flight, or — for a lease that runs alone — one reserved
 * at once (no new work goes to it) and granted once it drains. Alone leases
 * reserve in turn, first come first served. Internal to `src/host/`.
 *
 * @module
 */
import { Code, ConnectError } from "../npm/connect.ts";
import { deadline as timer } from "../_timing.ts";
import type { Keeper } from "./keeper.ts";
import type { Lease, LeaseOptions } from "./lease.ts";

/** The leasing of one pool's keepers. */
export class LeaseDesk {
  readonly #name: string;
  readonly #keepers: () => readonly Keeper[];
  readonly #retiring: () => Iterable<Keeper>;
  readonly #waiters = new Set<() => void>();
  /** Alone leases waiting for a process to reserve, first come first served. */
  readonly #queue: object[] = [];
  /** Alone leases granted (they hold their reserved keeper). */
  readonly #granted = new WeakSet<object>();

  /**
   * @param name The plugin's name, for errors.
   * @param keepers The keepers that take leases now.
   * @param retiring Keepers out of leasing whose leases may still be held.
   */
  constructor(
    name: string,
    keepers: () => readonly Keeper[],
    retiring: () => Iterable<Keeper>,
  ) {
    this.#name = name;
    this.#keepers = keepers;
    this.#retiring = retiring;
  }

  /**
   * Leases a process; see {@linkcode LeaseSource.lease}.
   *
   * @param options Alone, signal, deadline.
   * @param check Throws when the pool cannot lease at all (failed, stopped).
   */
  async lease(options: LeaseOptions, check: () => void): Promise<Lease> {
    const { alone = false, signal, deadline = Infinity } = options;
    const claim = {};
    if (alone) this.#queue.push(claim);
    try {
      while (true) {
        signal?.throwIfAborted();
        check();
        const keeper = alone ? this.#reserveFor(claim) : this.#leastBusy();
        if (keeper) return this.#grant(keeper, alone, claim);
        if (deadline - Date.now() <= 0) {
          throw new ConnectError(
            `no "${this.#name}" plugin could take the call within its deadline (restarting, or at its limit of calls in flight after crashes)`,
            Code.DeadlineExceeded,
          );
        }
        await this.wait(deadline, signal);
      }
    } catch (error) {
      this.#unclaim(claim);
      throw error;
    }
  }

  /** The least busy ready keeper with room, not reserved; undefined when none. */
  #leastBusy(): Keeper | undefined {
    let best: Keeper | undefined;
    for (const k of this.#keepers()) {
      if (k.state.t !== "ready" || k.reserved || !k.limit.admits(k.sending)) continue;
      if (!best || k.inFlight < best.inFlight) best = k;
    }
    return best;
  }

  /**
   * For an alone lease: its reserved keeper once drained and ready. First
   * in the queue reserves the least busy unreserved keeper (a ready one
   * first); later ones wait their turn.
   */
  #reserveFor(claim: object): Keeper | undefined {
    let mine = this.#keepers().find((k) => k.reserved === claim);
    if (!mine && this.#queue[0] === claim) {
      for (const k of this.#keepers()) {
        if (k.reserved) continue;
        const better = !mine ||
          (k.state.t === "ready" && mine.state.t !== "ready") ||
          ((k.state.t === "ready") === (mine.state.t === "ready") && k.inFlight < mine.inFlight);
        if (better) mine = k;
      }
      if (mine) {
        mine.reserved = claim;
        this.#queue.shift();
      }
    }
    return mine && mine.state.t === "ready" && mine.inFlight === 0 ? mine : undefined;
  }

  #grant(keeper: Keeper, alone: boolean, claim: object): Lease {
    const state = keeper.state;
    if (state.t !== "ready") throw new Error("unreachable: a lease of a keeper not ready");
    const { plugin, generation } = state;
    keeper.inFlight++;
    keeper.sending++;
    if (alone) this.#granted.add(claim);
    const started = performance.now();
    let answered = false;
    let sent = true;
    let released = false;
    return {
      plugin,
      generation,
      slot: keeper.slot,
      keeper,
      alone,
      get current() {
        return keeper.serves(generation);
      },
      answered: (failed) => {
        if (answered) return;
        answered = true;
        keeper.calls.record(performance.now() - started, failed);
        if (failed) return; // still counted as sent until released: a crash halves the limit of what was sent
        keeper.sending--;
        sent = false;
        keeper.answered(plugin);
        this.wake();
      },
      missedDeadline: () => keeper.missedDeadline(plugin),
      crashOf: (cause) => keeper.crashOf(plugin, cause),
      kill: (reason) => keeper.kill(plugin, reason),
      release: () => {
        if (released) return;
        released = true;
        answered = true;
        if (sent) keeper.sending--;
        keeper.inFlight--;
        if (alone) this.#unclaim(claim);
        this.wake();
      },
    };
  }

  /**
   * A keeper taken out of leasing: an alone lease that reserved it and
   * waits for it to drain goes back to the head of the queue.
   */
  unreserve(keeper: Keeper): void {
    const claim = keeper.reserved;
    if (claim === undefined || this.#granted.has(claim)) return;
    keeper.reserved = undefined;
    this.#queue.unshift(claim);
    this.wake();
  }

  /**
   * Frees an alone lease's place in the queue, or its reservation: handed
   * on to the next alone lease waiting, if any (so fresh leases cannot slip
   * in between two alone ones).
   */
  #unclaim(claim: object): void {
    const at = this.#queue.indexOf(claim);
    if (at >= 0) this.#queue.splice(at, 1);
    for (const k of this.#keepers()) {
      if (k.reserved === claim) k.reserved = this.#queue.shift();
    }
    for (const k of this.#retiring()) {
      if (k.reserved === claim) k.reserved = undefined;
    }
    this.wake();
  }

  /**
   * Waits for a change (a release, a state change), the deadline (epoch
   * milliseconds) or the signal.
   */
  async wait(deadline: number, signal: AbortSignal | undefined): Promise<void> {
    const left = Math.min(deadline - Date.now(), 2 ** 31 - 1);
    const time = timer(Math.max(0, left));
    const stop = signal ? AbortSignal.any([signal, time.signal]) : time.signal;
    try {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#waiters.delete(done);
          stop.removeEventListener("abort", done);
          resolve();
        };
        this.#waiters.add(done);
        stop.addEventListener("abort", done, { once: true });
        if (stop.aborted) done();
      });
    } finally {
      time.clear();
    }
  }

  /** Waiting leases look again (a release, a state change). */
  wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }
}
