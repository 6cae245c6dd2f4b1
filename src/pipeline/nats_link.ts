/**
 * One connection to a NATS cluster for a pipeline's `nats_jetstream` input
 * or output: connected on first use, retried with backoff for ever (a
 * pipeline waits out an outage rather than fail), reconnected by the client
 * after a disconnect, with its state for the progress line.
 *
 * @module
 */
import { connect, type NatsConnection } from "../npm/nats.ts";
import { settledWithin, sleep } from "../_timing.ts";

/** Where the link is (a tagged union; see {@linkcode NatsLink.state}). */
export type NatsLinkState =
  | { t: "connecting"; attempt: number; error: string | undefined }
  | { t: "connected" }
  | { t: "reconnecting"; since: number }
  | { t: "closed" };

/** Backoff between connection attempts: 100 ms doubling to 5 s. */
export function backoffMs(attempt: number): number {
  return Math.min(5000, 100 * 2 ** Math.min(attempt, 6));
}

/** A lazily connected, self-healing NATS connection. Close it with {@linkcode NatsLink.close}. */
export class NatsLink {
  readonly #urls: string[];
  readonly #name: string;
  readonly #closing = new AbortController();
  #state: NatsLinkState = { t: "connecting", attempt: 0, error: undefined };
  #connection: Promise<NatsConnection | undefined> | undefined;
  #watch: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  /**
   * @param urls The servers.
   * @param name The client name the server shows (e.g. `bulkhead input orders/workers`).
   */
  constructor(urls: readonly string[], name: string) {
    this.#urls = [...urls];
    this.#name = name;
  }

  /** Aborted once {@linkcode close} is called. */
  get closing(): AbortSignal {
    return this.#closing.signal;
  }

  /** The link's state now. */
  get state(): NatsLinkState {
    return this.#state;
  }

  /** A short description of the state, for the progress line. */
  describe(): string {
    const s = this.#state;
    switch (s.t) {
      case "connecting":
        return s.attempt === 0
          ? "connecting"
          : `connecting (attempt ${s.attempt + 1}${s.error ? `: ${s.error}` : ""})`;
      case "connected":
        return "connected";
      case "reconnecting":
        return `reconnecting for ${((performance.now() - s.since) / 1000).toFixed(0)} s`;
      case "closed":
        return "closed";
    }
  }

  /**
   * The connection, connecting first (retried with backoff until it
   * succeeds or the link is closed).
   *
   * @returns The connection, or `undefined` once the link is closed.
   */
  connection(): Promise<NatsConnection | undefined> {
    return this.#connection ??= this.#connect();
  }

  async #connect(): Promise<NatsConnection | undefined> {
    const signal = this.#closing.signal;
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        const nc = await connect({
          servers: this.#urls,
          name: this.#name,
          noAsyncTraces: true,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          timeout: 5000,
        });
        if (signal.aborted) {
          await nc.close().catch(() => {});
          return undefined;
        }
        this.#state = { t: "connected" };
        this.#watch = this.#watchStatus(nc);
        return nc;
      } catch (error) {
        this.#state = { t: "connecting", attempt: attempt + 1, error: describeError(error) };
        await sleep(backoffMs(attempt), signal);
      }
    }
    return undefined;
  }

  async #watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === "disconnect" || status.type === "reconnecting") {
        if (this.#state.t !== "reconnecting") {
          this.#state = { t: "reconnecting", since: performance.now() };
        }
      } else if (status.type === "reconnect") {
        this.#state = { t: "connected" };
      } else if (status.type === "close") {
        break;
      }
    }
  }

  /**
   * Flushes what was published (acknowledgements included) and closes.
   * Idempotent; never rejects.
   */
  close(): Promise<void> {
    return this.#closed ??= (async () => {
      this.#closing.abort();
      const nc = await this.#connection;
      if (nc && !nc.isClosed()) {
        // during an outage a flush never answers: give it 2 s
        await settledWithin(nc.flush(), 2000);
        await nc.close().catch(() => {});
      }
      await this.#watch;
      this.#state = { t: "closed" };
    })();
  }
}

/** An error's message, without a stack. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
