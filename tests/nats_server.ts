/**
 * A real `nats-server` with JetStream for tests and benchmarks: on
 * 127.0.0.1, a port the server picks (`-p -1`, read from its ports file),
 * a temporary store, stopped and removed on dispose. Plus the few
 * JetStream chores tests share: make a stream, publish, read a stream back.
 *
 * A test that needs NATS is ignored when `nats-server` is missing, except
 * under `CI=true`, where it runs and fails (CI installs Debian's package).
 *
 * @module
 */
import { connect, type NatsConnection } from "../src/npm/nats.ts";
import {
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "../src/npm/nats_jetstream.ts";
import { nanos } from "../src/npm/nats.ts";

/** Debian's nats-server, or the first on PATH. */
export const NATS_SERVER = findServer();

function findServer(): string | undefined {
  const candidates = ["/usr/sbin/nats-server", "/usr/bin/nats-server"];
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir) candidates.push(`${dir}/nats-server`);
  }
  return candidates.find((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
}

/** Whether tests that need NATS are ignored: missing server, and not under CI. */
export const ignoreWithoutNats = NATS_SERVER === undefined && Deno.env.get("CI") !== "true";
if (ignoreWithoutNats) {
  console.log("nats: nats-server not found, NATS tests ignored (CI=true fails them)");
}

/** A running nats-server with JetStream. */
export class NatsServer implements AsyncDisposable {
  /** Its store and ports-file directory. */
  readonly dir: string;
  #port = 0;
  #child: Deno.ChildProcess | undefined;
  #log: Promise<string> | undefined;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Starts a server on a port it picks. */
  static async start(): Promise<NatsServer> {
    if (NATS_SERVER === undefined) {
      throw new Error("Cannot start nats-server: not installed (Debian package nats-server)");
    }
    const server = new NatsServer(await Deno.makeTempDir({ prefix: "bulkhead-nats-" }));
    try {
      await server.#launch(-1);
    } catch (error) {
      await server[Symbol.asyncDispose]();
      throw error;
    }
    return server;
  }

  /** Its port. */
  get port(): number {
    return this.#port;
  }

  /** Its URL. */
  get url(): string {
    return `nats://127.0.0.1:${this.#port}`;
  }

  async #launch(port: number): Promise<void> {
    const child = new Deno.Command(NATS_SERVER!, {
      args: [
        "-js",
        "-a",
        "127.0.0.1",
        "-p",
        String(port),
        "-sd",
        this.dir,
        "--ports_file_dir",
        this.dir,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#log = new Response(child.stderr).text();
    const portsFile = `${this.dir}/nats-server_${child.pid}.ports`;
    const end = Date.now() + 15_000;
    while (Date.now() < end) {
      try {
        const ports = JSON.parse(await Deno.readTextFile(portsFile)) as { nats?: string[] };
        const url = ports.nats?.[0];
        if (url) {
          this.#port = Number(new URL(url.replace(/^nats:/, "http:")).port);
          await this.#waitJetStream();
          return;
        }
      } catch {
        // not written yet
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGKILL");
    await child.status;
    throw new Error(`Cannot start nats-server: no ports file after 15 s\n${await this.#log}`);
  }

  async #waitJetStream(): Promise<void> {
    const end = Date.now() + 15_000;
    while (Date.now() < end) {
      try {
        const nc = await connect({ servers: this.url, noAsyncTraces: true, timeout: 2000 });
        try {
          await (await jetstreamManager(nc)).getAccountInfo();
          return;
        } finally {
          await nc.close();
        }
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error("Cannot start nats-server: JetStream not ready after 15 s");
  }

  /** Stops the server (SIGTERM: a clean shutdown; SIGKILL: a crash) and waits for it. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
    await child.status;
    await this.#log;
  }

  /** Starts the server again on the same store and the same port it first chose. */
  async restart(): Promise<void> {
    await this.stop();
    await this.#launch(this.#port);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** Options of {@linkcode createStream}. */
export interface StreamOptions {
  /** `workqueue` (messages go once acknowledged) or `limits` (kept). @default {"limits"} */
  retention?: "workqueue" | "limits";
  /** The deduplication window, in milliseconds. @default {120000} */
  duplicateWindowMs?: number;
}

/** Connects a test client (close it with `await using`). */
export async function testClient(url: string): Promise<NatsConnection & AsyncDisposable> {
  const nc = await connect({ servers: url, noAsyncTraces: true });
  return Object.assign(nc, { [Symbol.asyncDispose]: () => nc.close() });
}

/** Creates a file-backed stream capturing `subjects`. */
export async function createStream(
  nc: NatsConnection,
  name: string,
  subjects: string[],
  options: StreamOptions = {},
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name,
    subjects,
    storage: StorageType.File,
    retention: options.retention === "workqueue"
      ? RetentionPolicy.Workqueue
      : RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(options.duplicateWindowMs ?? 120_000),
  });
}

/**
 * Publishes `count` messages `prefix1`… to a subject `stream` captures
 * (plain publishes), then waits until the stream stored them all (its last
 * sequence moved by `count`, whether or not consumers took them since).
 */
export async function publishNumbered(
  nc: NatsConnection,
  stream: string,
  subject: string,
  count: number,
  prefix = "m",
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const lastSequence = async () => (await jsm.streams.info(stream)).state.last_seq;
  const before = await lastSequence();
  const encoder = new TextEncoder();
  for (let i = 1; i <= count; i++) {
    nc.publish(subject, encoder.encode(`${prefix}${i}`));
    if (i % 1000 === 0) await nc.flush();
  }
  await nc.flush();
  const end = Date.now() + 30_000;
  while (await lastSequence() < before + count) {
    if (Date.now() > end) throw new Error(`Cannot publish: ${stream} did not store ${count}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Polls the stream every 50 ms until `check(count)` holds or `ms` pass; returns the last count. */
export async function waitForCount(
  nc: NatsConnection,
  stream: string,
  check: (count: number) => boolean,
  ms: number,
): Promise<number> {
  const end = Date.now() + ms;
  let count = await streamCount(nc, stream);
  while (!check(count) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    count = await streamCount(nc, stream);
  }
  return count;
}

/** How many messages a stream holds. */
export async function streamCount(nc: NatsConnection, stream: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  return (await jsm.streams.info(stream)).state.messages;
}

/** Every message a stream holds, as text, in stream order (an ephemeral ordered consumer). */
export async function readStream(nc: NatsConnection, stream: string): Promise<string[]> {
  const total = await streamCount(nc, stream);
  const out: string[] = [];
  if (total === 0) return out;
  const consumer = await jetstream(nc).consumers.get(stream);
  while (out.length < total) {
    const batch = await consumer.fetch({
      max_messages: Math.min(10_000, total - out.length),
      expires: 2000,
    });
    for await (const m of batch) out.push(m.string());
  }
  return out;
}

/** A `bulkhead run` host in a subprocess, reading its stderr as it goes. */
export class PipelineHost implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  /** Its stderr lines so far. */
  readonly lines: string[] = [];
  readonly #stdout: Promise<string>;
  readonly #stderr: Promise<void>;
  #metrics: ((address: string) => void) | undefined;
  /** Resolves with the metrics address once printed (when started with metrics). */
  readonly metricsAddress: Promise<string>;

  /**
   * @param pipeline The pipeline file.
   * @param metrics Whether to serve metrics on a free port.
   */
  constructor(pipeline: string, metrics = false) {
    const cli = new URL("../cli.ts", import.meta.url).pathname;
    this.child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        cli,
        "run",
        "--json",
        ...(metrics ? ["--metrics-addr", "127.0.0.1:0"] : []),
        pipeline,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
    }).spawn();
    this.metricsAddress = new Promise((resolve) => this.#metrics = resolve);
    const child = this.child;
    this.#stdout = new Response(child.stdout).text();
    this.#stderr = (async () => {
      const decoder = new TextDecoderStream();
      let rest = "";
      for await (const text of child.stderr.pipeThrough(decoder)) {
        const parts = (rest + text).split("\n");
        rest = parts.pop() ?? "";
        for (const line of parts) {
          this.lines.push(line);
          const match = /metrics on http:\/\/(\S+)\/metrics/.exec(line);
          if (match) this.#metrics?.(match[1]!);
        }
      }
      if (rest) this.lines.push(rest);
    })();
  }

  /** Every process descended from the host (its plugins and theirs). */
  descendants(): number[] {
    const parents = new Map<number, number>();
    for (const entry of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      try {
        const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        if (fields[0] !== "Z") parents.set(Number(entry.name), Number(fields[1]));
      } catch {
        // gone meanwhile
      }
    }
    const found: number[] = [];
    let frontier = [this.child.pid];
    while (frontier.length > 0) {
      const next = [...parents].filter(([, ppid]) => frontier.includes(ppid)).map(([pid]) => pid);
      found.push(...next);
      frontier = next;
    }
    return found;
  }

  /** Waits for the exit; returns the code and the JSON summary (when printed). */
  async result(): Promise<{ code: number; summary: Record<string, unknown> | undefined }> {
    const status = await this.child.status;
    const out = await this.#stdout;
    await this.#stderr;
    let summary: Record<string, unknown> | undefined;
    try {
      summary = JSON.parse(out.trim().split("\n").pop() ?? "");
    } catch {
      summary = undefined;
    }
    return { code: status.code, summary };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await this.result();
  }
}

/** Scrapes a Prometheus text endpoint into `name{labels}` → value. */
export async function scrape(address: string): Promise<Map<string, number>> {
  const response = await fetch(`http://${address}/metrics`);
  const text = await response.text();
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}
