/**
 * A running pipeline's numbers in Prometheus' text format, and a small
 * HTTP server for them: `GET /metrics`, `/ready` (200 while the pipeline
 * runs and its input is not in an outage), `/live` (200 while the process
 * serves).
 *
 * Every counter is read from the engine's own progress when scraped, so a
 * scrape after the last batch shows what the summary will say.
 *
 * @module
 */
import { LATENCY_BUCKETS_MS } from "../host/call_stats.ts";
import type { SupervisorEvent } from "../host/supervisor.ts";
import type { PipelineProgress } from "./engine.ts";

/** Most distinct plugin names counted (a pool of N adds N names). */
const MAX_PLUGINS = 1024;

/**
 * Collects a pipeline's numbers for Prometheus.
 *
 * @example
 * ```ts
 * import { PipelineMetrics } from "./metrics.ts";
 * const metrics = new PipelineMetrics();
 * metrics.attach(() => ({
 *   elapsedMs: 10, messagesIn: 3, messagesOut: 3, deadLetters: 0, filtered: 0, batches: 1, inFlight: 0,
 *   stages: [],
 * }));
 * metrics.onEvent({ type: "crashed", plugin: "p", slot: 0, pid: 1, status: { code: 1, signal: null }, reason: "exit 1", stderrTail: [] });
 * if (!metrics.render().includes('bulkhead_plugin_exits_total{plugin="p"} 1')) throw new Error();
 * ```
 */
export class PipelineMetrics {
  #progress: (() => PipelineProgress) | undefined;
  #finished = false;
  readonly #exits = new Map<string, number>();
  readonly #restarts = new Map<string, number>();

  /** Starts reading the running pipeline's progress (see `RunPipelineOptions.onStart`). */
  attach(progress: () => PipelineProgress): void {
    this.#progress = progress;
  }

  /** The pipeline ended: `/ready` answers 503 from now on; counters keep their last values. */
  finish(): void {
    this.#finished = true;
  }

  /** Counts plugin exits (crashes and kills) and restarts, per plugin process. */
  onEvent(event: SupervisorEvent): void {
    if (event.type === "crashed" || event.type === "killed") bump(this.#exits, event.plugin);
    else if (event.type === "started" && event.restarts > 0) bump(this.#restarts, event.plugin);
  }

  /** Whether the pipeline runs and its input is not in an outage. */
  ready(): boolean {
    if (!this.#progress || this.#finished) return false;
    const status = this.#progress().inputStatus;
    return status === undefined || !/reconnecting|retrying|connecting/.test(status);
  }

  /** The metrics in Prometheus' text exposition format (version 0.0.4). */
  render(): string {
    const out: string[] = [];
    const metric = (name: string, type: string, help: string, samples: [string, number][]) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) out.push(`${name}${labels} ${format(value)}`);
    };
    const p = this.#progress?.();
    metric("bulkhead_up", "gauge", "1 while the pipeline runs.", [[
      "",
      p && !this.#finished ? 1 : 0,
    ]]);
    if (p) {
      metric("bulkhead_messages_in_total", "counter", "Messages read from the input.", [[
        "",
        p.messagesIn,
      ]]);
      metric("bulkhead_messages_out_total", "counter", "Messages written to the output.", [[
        "",
        p.messagesOut,
      ]]);
      metric(
        "bulkhead_messages_dead_lettered_total",
        "counter",
        "Messages written to the dead-letter output.",
        [["", p.deadLetters]],
      );
      metric("bulkhead_batches_total", "counter", "Batches written and acknowledged.", [[
        "",
        p.batches,
      ]]);
      metric("bulkhead_batches_in_flight", "gauge", "Batches between input and output.", [[
        "",
        p.inFlight,
      ]]);
      if (p.inputLag !== undefined) {
        metric(
          "bulkhead_input_lag_messages",
          "gauge",
          "Messages waiting at the source (consumer lag), as of the last fetch.",
          [["", p.inputLag]],
        );
      }
      const stage = (name: string) => `{stage="${escape(name)}"}`;
      metric(
        "bulkhead_stage_restarts_total",
        "counter",
        "Plugin restarts per processor stage.",
        p.stages.map((s) => [stage(s.name), s.restarts]),
      );
      metric(
        "bulkhead_stage_retries_total",
        "counter",
        "Batches sent again after a crash or hang.",
        p.stages.map((s) => [stage(s.name), s.retries]),
      );
      metric(
        "bulkhead_stage_bisections_total",
        "counter",
        "Batches split to find the messages at fault.",
        p.stages.map((s) => [stage(s.name), s.bisections]),
      );
      const name = "bulkhead_stage_call_duration_seconds";
      out.push(
        `# HELP ${name} Processor plugin call latency.`,
        `# TYPE ${name} histogram`,
      );
      for (const s of p.stages) {
        const label = `stage="${escape(s.name)}"`;
        let cumulative = 0;
        LATENCY_BUCKETS_MS.forEach((bound, i) => {
          cumulative += s.histogram[i] ?? 0;
          out.push(`${name}_bucket{${label},le="${format(bound / 1000)}"} ${cumulative}`);
        });
        cumulative += s.histogram[LATENCY_BUCKETS_MS.length] ?? 0;
        out.push(`${name}_bucket{${label},le="+Inf"} ${cumulative}`);
        out.push(`${name}_sum{${label}} ${format(s.latencySumMs / 1000)}`);
        out.push(`${name}_count{${label}} ${cumulative}`);
      }
    }
    const plugin = (m: Map<string, number>) =>
      [...m].map(([name, n]) => [`{plugin="${escape(name)}"}`, n] as [string, number]);
    metric(
      "bulkhead_plugin_exits_total",
      "counter",
      "Plugin processes that exited unasked (crashed or killed).",
      plugin(this.#exits),
    );
    metric(
      "bulkhead_plugin_restarts_total",
      "counter",
      "Plugin processes started again after an exit.",
      plugin(this.#restarts),
    );
    return `${out.join("\n")}\n`;
  }
}

function bump(map: Map<string, number>, key: string): void {
  if (!map.has(key) && map.size >= MAX_PLUGINS) return;
  map.set(key, (map.get(key) ?? 0) + 1);
}

function escape(label: string): string {
  return label.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function format(value: number): string {
  return Number.isFinite(value) ? String(value) : value > 0 ? "+Inf" : "-Inf";
}

/** A metrics server; stop it with `await using` or {@linkcode MetricsServer.close}. */
export interface MetricsServer extends AsyncDisposable {
  /** Where it listens (`127.0.0.1:PORT`, the port chosen when 0 was asked). */
  readonly address: string;
  /** Stops serving. Idempotent. */
  close(): Promise<void>;
}

/**
 * Serves `/metrics`, `/ready` and `/live` over HTTP.
 *
 * @param address `HOST:PORT` (port 0: any free port).
 * @param metrics What to serve.
 * @returns The running server.
 * @throws {RangeError} When the address is not `HOST:PORT`.
 * @example
 * ```ts
 * import { PipelineMetrics, serveMetrics } from "./metrics.ts";
 * await using server = serveMetrics("127.0.0.1:0", new PipelineMetrics());
 * const response = await fetch(`http://${server.address}/live`);
 * await response.body?.cancel();
 * if (response.status !== 200) throw new Error();
 * ```
 */
export function serveMetrics(address: string, metrics: PipelineMetrics): MetricsServer {
  const match = /^(.+):(\d+)$/.exec(address);
  if (!match) throw new RangeError(`Cannot serve metrics: expected HOST:PORT, got ${address}`);
  const hostname = match[1]!.replace(/^\[(.*)\]$/, "$1");
  const server = Deno.serve({ hostname, port: Number(match[2]), onListen: () => {} }, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/metrics") {
      return new Response(metrics.render(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    }
    if (path === "/live") return new Response("ok\n");
    if (path === "/ready") {
      return metrics.ready()
        ? new Response("ready\n")
        : new Response("not ready\n", { status: 503 });
    }
    return new Response("not found\n", { status: 404 });
  });
  let closed: Promise<void> | undefined;
  const close = () => closed ??= server.shutdown();
  return {
    address: `${hostname}:${server.addr.port}`,
    close,
    [Symbol.asyncDispose]: close,
  };
}
