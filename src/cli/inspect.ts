/**
 * `bulkhead inspect`: what a running plugin is, serves and may touch, as a
 * report for people or as JSON.
 *
 * @module
 */
import type { Handshake, Plugin, PluginInfo, SandboxKind } from "../../mod.ts";
import { ReflectionClient, type ReflectionVersion } from "../host/reflection_client.ts";
import { type ChecksumTarget, pluginChecksum } from "../host/checksum.ts";
import { describeRpcError, type RpcErrorReport } from "./errors.ts";

/** One method of a service. */
export interface MethodReport {
  /** The method's name. */
  name: string;
  /** `unary`, `server_streaming`, `client_streaming` or `bidi_streaming`. */
  kind: string;
  /** The input message's full name. */
  input: string;
  /** The output message's full name. */
  output: string;
}

/** One service the plugin serves. */
export interface ServiceReport {
  /** The service's full name. */
  name: string;
  /** Whether Bulkhead or go-plugin provides it rather than the plugin's author. */
  builtin: boolean;
  /** Its methods, when its descriptors could be read. */
  methods?: MethodReport[];
  /** Why its descriptors could not be read. */
  error?: RpcErrorReport;
}

/** Everything `bulkhead inspect` shows. */
export interface InspectReport {
  /** The plugin's name. */
  name: string;
  /** Its process id. */
  pid: number;
  /** The handshake it printed, validated. */
  handshake: Handshake;
  /** The application protocol version it chose. */
  protocolVersion: number;
  /** Its permissions. */
  permissions: {
    /** Whether a sandbox confines it. */
    sandboxed: boolean;
    /** Which: Deno's permissions, bubblewrap, or none. */
    sandbox: SandboxKind;
    /** The `deno run` or `bwrap` flags that grant its permissions. */
    flags: string[];
    /** Grants that let it leave the sandbox. */
    sandboxEscapes: string[];
    /** Where a Deno plugin may load modules from, besides Bulkhead, Deno's cache and read grants. */
    moduleRoot?: string;
  };
  /** Its services, through reflection. */
  reflection:
    | { version: ReflectionVersion | undefined; services: ServiceReport[] }
    | { error: RpcErrorReport };
  /** Its health status for service `plugin`, or why it could not be asked. */
  health: { status: string } | { error: RpcErrorReport };
  /**
   * Its SHA-256 to pin (`--sha256`, pipeline `sha256:`, `PluginOptions.sha256`):
   * the executable's, or a Deno module's whole graph; or why it could not be computed.
   */
  checksum?: { sha256: string; target: string } | { error: string };
  /** Its process: time to ready, resident memory, limits. */
  process: { readyInMs: number; rssBytes?: number; limits: PluginInfo["limits"] };
}

const BUILTIN = /^(grpc\.health\.v1\.|grpc\.reflection\.|plugin\.GRPC)/;

/**
 * Gathers the report for a running plugin.
 *
 * @param plugin The plugin.
 * @param options The deadline of each RPC, and a signal that aborts them.
 * @returns The report; RPC failures are recorded in it, not thrown.
 * @example
 * ```ts ignore
 * const report = await inspectPlugin(plugin, { timeoutMs: 5000 });
 * ```
 */
export async function inspectPlugin(
  plugin: Plugin,
  options: {
    timeoutMs: number;
    signal?: AbortSignal;
    /** What to hash for the report's checksum (the plugin's start options); none: no checksum. */
    checksum?: ChecksumTarget;
  },
): Promise<InspectReport> {
  const info = plugin.info();
  const reflection = new ReflectionClient(plugin);
  const call = {
    timeoutMs: options.timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  let services: InspectReport["reflection"];
  try {
    const names = await reflection.listServices(call);
    const reports = await Promise.all(names.map(async (name): Promise<ServiceReport> => {
      const builtin = BUILTIN.test(name);
      try {
        const service = await reflection.service(name, call);
        return {
          name,
          builtin,
          methods: service.methods.map((m) => ({
            name: m.name,
            kind: m.methodKind,
            input: m.input.typeName,
            output: m.output.typeName,
          })),
        };
      } catch (error) {
        return { name, builtin, error: describeRpcError(error) };
      }
    }));
    services = { version: reflection.version, services: reports };
  } catch (error) {
    services = { error: describeRpcError(error) };
  }
  let health: InspectReport["health"];
  try {
    health = { status: await plugin.health(call) };
  } catch (error) {
    health = { error: describeRpcError(error) };
  }
  let checksum: InspectReport["checksum"];
  if (options.checksum !== undefined) {
    try {
      checksum = await pluginChecksum(options.checksum, options.signal);
    } catch (error) {
      checksum = { error: error instanceof Error ? error.message : String(error) };
    }
  }
  options.signal?.throwIfAborted();
  return {
    name: info.name,
    pid: info.pid,
    handshake: info.handshake,
    protocolVersion: info.handshake.appVersion,
    permissions: {
      sandboxed: info.sandboxed,
      sandbox: info.sandbox,
      flags: info.permissionFlags,
      sandboxEscapes: info.sandboxEscapes,
      ...(info.moduleRoot === undefined ? {} : { moduleRoot: info.moduleRoot }),
    },
    reflection: services,
    health,
    ...(checksum === undefined ? {} : { checksum }),
    process: {
      readyInMs: info.readyInMs,
      ...(info.rssBytes === undefined ? {} : { rssBytes: info.rssBytes }),
      limits: info.limits,
    },
  };
}

/**
 * Formats the report for people.
 *
 * @param report The report.
 * @returns Lines of text, ending in a newline.
 * @example
 * ```ts ignore
 * console.log(formatInspect(await inspectPlugin(plugin, { timeoutMs: 5000 })));
 * ```
 */
export function formatInspect(report: InspectReport): string {
  const hs = report.handshake;
  const lines = [
    `Plugin ${report.name} (pid ${report.pid})`,
    "",
    `Handshake: ${hs.line}`,
    `  core version       ${hs.coreVersion}`,
    `  protocol version   ${hs.appVersion}`,
    `  network            ${hs.network}`,
    `  address            ${hs.address}`,
    `  protocol           ${hs.protocol}`,
    `  server cert        ${
      hs.serverCert === "" ? "(none: no mTLS)" : `${hs.serverCert.length} base64 chars`
    }`,
    `  mux                ${hs.mux}`,
    "",
  ];
  if ("error" in report.reflection) {
    lines.push(`Services: unknown (${formatError(report.reflection.error)})`);
  } else {
    const { version, services } = report.reflection;
    const via = version ? ` (via grpc.reflection.${version})` : "";
    for (
      const [title, builtin] of [[`Services${via}`, false], ["Built-in services", true]] as const
    ) {
      const group = services.filter((s) => s.builtin === builtin);
      lines.push(`${title}:${group.length === 0 ? " none" : ""}`);
      for (const service of group) {
        lines.push(`  ${service.name}`);
        if (service.error) lines.push(`    (cannot describe: ${formatError(service.error)})`);
        for (const m of service.methods ?? []) {
          const input = m.kind === "client_streaming" || m.kind === "bidi_streaming"
            ? "stream "
            : "";
          const output = m.kind === "server_streaming" || m.kind === "bidi_streaming"
            ? "stream "
            : "";
          lines.push(`    rpc ${m.name}(${input}${m.input}) returns (${output}${m.output})`);
        }
      }
    }
  }
  lines.push("");
  const { sandbox, flags, sandboxEscapes, moduleRoot } = report.permissions;
  if (sandbox === "none") {
    lines.push(
      "Permissions: WARNING: not sandboxed (sandbox: false): it runs with all of this user's rights",
    );
  } else {
    lines.push(`Permissions: sandboxed by ${sandbox === "deno" ? "Deno" : "bubblewrap"} with`);
    // bwrap's flags take operands: one option per line
    for (const flag of flags) {
      if (flag.startsWith("--") || lines.length === 0) lines.push(`  ${flag}`);
      else lines[lines.length - 1] += ` ${flag}`;
    }
    if (moduleRoot !== undefined) {
      lines.push(`  module root ${moduleRoot} (imports load from here)`);
    }
    for (const escape of sandboxEscapes) lines.push(`  WARNING: escapes the sandbox: ${escape}`);
  }
  lines.push("");
  const { readyInMs, rssBytes, limits } = report.process;
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  const limitText = [
    limits.heapMb !== undefined ? `heap ${limits.heapMb} MiB` : "",
    limits.dataMb !== undefined ? `data ${limits.dataMb} MiB` : "",
    limits.cpuSeconds !== undefined ? `CPU ${limits.cpuSeconds} s` : "",
    limits.openFiles !== undefined ? `${limits.openFiles} open files` : "",
  ].filter(Boolean).join(", ") || "none";
  lines.push(
    `Process: ready in ${readyInMs} ms; RSS ${
      rssBytes === undefined ? "unknown" : mib(rssBytes)
    }; limits: ${limitText}`,
  );
  if (report.checksum !== undefined) {
    lines.push(
      "error" in report.checksum
        ? `Checksum: unknown (${report.checksum.error})`
        : `Checksum: sha256 ${report.checksum.sha256} (pin it with --sha256 or sha256:)`,
    );
  }
  lines.push(
    "error" in report.health
      ? `Health: unknown (${formatError(report.health.error)})`
      : `Health: ${report.health.status}`,
  );
  return lines.join("\n") + "\n";
}

function formatError(error: RpcErrorReport): string {
  return `${error.code}: ${error.message}`;
}
