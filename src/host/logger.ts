/**
 * Where a plugin's logs go. A plugin writes logs to stderr (stdout is the
 * handshake's); the host reads them line by line and hands each to a
 * {@linkcode Logger}. go-plugin's JSON log lines (hclog: `@level`,
 * `@message`) keep their level and fields.
 *
 * @module
 */

/** A log level. */
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error";

/** One line of a plugin's output. */
export interface LogRecord {
  /** The plugin's name. */
  plugin: string;
  /** The level: from hclog JSON, else `info` (stderr) or `info` (stdout). */
  level: LogLevel;
  /** The message. */
  message: string;
  /**
   * Where it came from: the process's stderr or stdout, go-plugin's stdio
   * stream, or the host itself (about the plugin, e.g. that it is still warming up).
   */
  source: "stderr" | "stdout" | "stdio" | "host";
  /** Extra hclog fields (other than `@level`, `@message`, `@timestamp`). */
  fields?: Record<string, unknown>;
}

/** Receives a plugin's log lines. Must not throw. */
export type Logger = (record: LogRecord) => void;

const LEVELS: Record<string, LogLevel> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warn: "warn",
  warning: "warn",
  error: "error",
};

/**
 * Turns one output line into a log record, reading hclog JSON when it is.
 *
 * @param plugin The plugin's name.
 * @param line The line.
 * @param source Where it came from.
 * @returns The record.
 * @example
 * ```ts
 * import { toLogRecord } from "./logger.ts";
 * const r = toLogRecord("kv", '{"@level":"warn","@message":"disk low","pct":91}', "stderr");
 * if (r.level !== "warn" || r.message !== "disk low" || r.fields?.pct !== 91) throw new Error();
 * ```
 */
export function toLogRecord(plugin: string, line: string, source: LogRecord["source"]): LogRecord {
  if (line.startsWith("{") && line.includes('"@message"')) {
    try {
      const json = JSON.parse(line) as Record<string, unknown>;
      const { "@level": level, "@message": message, "@timestamp": _ts, ...fields } = json;
      if (typeof message === "string") {
        const record: LogRecord = {
          plugin,
          level: LEVELS[String(level).toLowerCase()] ?? "info",
          message,
          source,
        };
        if (Object.keys(fields).length > 0) record.fields = fields;
        return record;
      }
    } catch {
      // not JSON after all: fall through to a plain line
    }
  }
  return { plugin, level: "info", message: line, source };
}

/**
 * Formats a record as the default logger prints it: `[plugin] message`,
 * with the level when it is not `info`, and hclog fields as `key=value`.
 *
 * @param record The record.
 * @returns One line, without a newline.
 * @example
 * ```ts
 * import { formatLogRecord } from "./logger.ts";
 * const line = formatLogRecord({ plugin: "demo", level: "warn", message: "hi", source: "stderr" });
 * if (line !== "[demo] WARN hi") throw new Error(line);
 * ```
 */
export function formatLogRecord(record: LogRecord): string {
  const level = record.level === "info" ? "" : ` ${record.level.toUpperCase()}`;
  const fields = record.fields
    ? " " + Object.entries(record.fields).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" ")
    : "";
  return `[${record.plugin}]${level} ${record.message}${fields}`;
}

/**
 * The default logger: writes `[plugin] message` to the host's stderr, with
 * the level when it is not `info`, and hclog fields as `key=value`.
 *
 * @param record The record.
 * @example
 * ```ts
 * import { stderrLogger } from "./logger.ts";
 * stderrLogger({ plugin: "demo", level: "info", message: "hello", source: "stderr" });
 * ```
 */
export function stderrLogger(record: LogRecord): void {
  const text = `${formatLogRecord(record)}\n`;
  try {
    Deno.stderr.writeSync(new TextEncoder().encode(text));
  } catch {
    // the host's stderr is gone; nothing useful to do
  }
}
