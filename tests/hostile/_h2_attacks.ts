/**
 * Shared by the hostile HTTP/2 and broker tests: where the attacking
 * fixtures are, the host's memory as the kernel counts it, and a
 * well-behaved bystander plugin whose calls must not suffer.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Plugin } from "../../mod.ts";
import { GreeterService } from "../../src/gen/bulkhead/examples/greeter/v1/greeter_pb.ts";

/** The raw HTTP/2 attacker (`fixtures/h2_plugin.ts <mode>`). */
export const H2_PLUGIN = new URL("./fixtures/h2_plugin.ts", import.meta.url);
/** The broker stream attacker (`fixtures/broker_plugin.ts <mode>`). */
export const BROKER_PLUGIN = new URL("./fixtures/broker_plugin.ts", import.meta.url);
/** A host in a subprocess, for attacks that could take a host down (`fixtures/broker_host.ts`). */
export const BROKER_HOST = new URL("./fixtures/broker_host.ts", import.meta.url);
/** The well-behaved bystander. */
export const GREETER = new URL("../../examples/greeter/plugin.ts", import.meta.url);

/** Growth of the host's resident set that a contained attack stays under. */
export const RSS_GROWTH_BOUND = 200 * 1024 * 1024;

function statusField(field: "VmRSS" | "VmHWM"): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1];
  return Number(kb) * 1024;
}

/** This process's resident set now, in bytes. */
export function rssBytes(): number {
  return statusField("VmRSS");
}

/** This process's peak resident set so far, in bytes. */
export function peakRssBytes(): number {
  return statusField("VmHWM");
}

/** Megabytes, rounded, for messages. */
export function mb(bytes: number): number {
  return Math.round(bytes / (1024 * 1024));
}

/** A greeter plugin that must keep answering while another plugin attacks its host. */
export class Bystander implements AsyncDisposable {
  readonly #plugin: Plugin;
  #calls = 0;

  private constructor(plugin: Plugin) {
    this.#plugin = plugin;
  }

  /** Starts the greeter. */
  static async start(): Promise<Bystander> {
    return new Bystander(await Plugin.start({ module: GREETER, name: "bystander" }));
  }

  /** Its socket. */
  get address(): string {
    return this.#plugin.handshake.address;
  }

  /** One call; fails the test unless it is answered. */
  async greet(): Promise<void> {
    const n = ++this.#calls;
    const reply = await this.#plugin.client(GreeterService).greet(
      { name: `call ${n}` },
      { timeoutMs: 10_000 },
    );
    assert.equal(reply.greeting, `Hello, call ${n}!`);
  }

  /** Calls in a loop until `done` settles; resolves with how many calls were answered. */
  async greetUntil(done: Promise<unknown>): Promise<number> {
    let finished = false;
    void done.finally(() => finished = true).catch(() => {});
    let answered = 0;
    while (!finished) {
      await this.greet();
      answered++;
      await new Promise((r) => setTimeout(r, 10));
    }
    return answered;
  }

  /** Stops the greeter. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#plugin.stop();
  }
}
