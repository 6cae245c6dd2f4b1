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
  /** The level: from hclog JSON when it names a known one, else `info`. */
  level: LogLevel;
  /**
   * The message, as the plugin sent it: control characters included (an
   * hclog `@message` may hold `\n`, `\r` or terminal escapes). Print it
   * through {@linkcode escapeControlChars}, as {@linkcode stderrLogger} does.
   */
  message: string;
  /**
   * Where it came from: the process's stderr or stdout, go-plugin's stdio
   * stream, or the host itself (about the plugin, e.g. that it is still warming up).
   */
  source: "stderr" | "stdout" | "stdio" | "host";
  /**
   * Extra hclog fields (other than `@level`, `@message`, `@timestamp`), as
   * the plugin sent them: names such as `__proto__` are own properties here.
   */
  fields?: Record<string, unknown>;
}

/**
 * Receives a plugin's log lines. Should not throw: an error it throws is
 * dropped (with the record), so the plugin's output is still read.
 */
export type Logger = (record: LogRecord) => void;

// A Map: plugins name the level, and a plain object has `constructor`, `__proto__`, …
const LEVELS: ReadonlyMap<string, LogLevel> = new Map([
  ["trace", "trace"],
  ["debug", "debug"],
  ["info", "info"],
  ["warn", "warn"],
  ["warning", "warn"],
  ["error", "error"],
]);

/**
 * Turns one output line into a log record, reading hclog JSON when it is.
 * Never throws.
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
      const json: unknown = JSON.parse(line);
      if (typeof json === "object" && json !== null && !Array.isArray(json)) {
        const { "@level": level, "@message": message, "@timestamp": _ts, ...fields } =
          json as Record<
            string,
            unknown
          >;
        if (typeof message === "string") {
          const record: LogRecord = {
            plugin,
            level: (typeof level === "string" ? LEVELS.get(level.toLowerCase()) : undefined) ??
              "info",
            message,
            source,
          };
          if (Object.keys(fields).length > 0) record.fields = fields;
          return record;
        }
      }
    } catch {
      // not JSON after all: fall through to a plain line
    }
  }
  return { plugin, level: "info", message: line, source };
}

/**
 * Hands one line of a plugin's output to a logger as a record; an error the
 * logger throws is dropped, so a line can never stop the host from reading
 * the plugin's output, nor become an unhandled rejection.
 *
 * @param logger The logger.
 * @param plugin The plugin's name.
 * @param line The line.
 * @param source Where it came from.
 * @example
 * ```ts
 * import { logLine } from "./logger.ts";
 * logLine(() => { throw new Error("a broken logger"); }, "kv", "hello", "stderr");
 * ```
 */
export function logLine(
  logger: Logger,
  plugin: string,
  line: string,
  source: LogRecord["source"],
): void {
  try {
    logger(toLogRecord(plugin, line, source));
  } catch {
    // the logger's own failure: the record is lost, the reading goes on
  }
}

// C0 but tab, DEL, C1, line and paragraph separators, bidirectional controls
const CONTROL =
  // deno-lint-ignore no-control-regex
  /[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED = new Map([["\n", "\\n"], ["\r", "\\r"], ["\x1b", "\\e"]]);

/**
 * Makes text safe to print as part of one terminal line: control characters
 * become visible escapes (`\n`, `\r`, `\e` for ESC, `\x07`, `\u2028`,
 * `\u202e`, …), so a plugin's text cannot start a new line, move the cursor,
 * recolour or erase what is on screen, or reorder it with bidirectional
 * controls. Tabs stay (Go stack traces indent with them). Backslashes are
 * not doubled: an escape shown may also have been sent as text.
 *
 * @param text The text.
 * @returns The text with its control characters escaped.
 * @example
 * ```ts
 * import { escapeControlChars } from "./logger.ts";
 * if (escapeControlChars("a\nb\x1b[2K") !== "a\\nb\\e[2K") throw new Error();
 * ```
 */
export function escapeControlChars(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return NAMED.get(c) ??
      (code <= 0xff
        ? `\\x${code.toString(16).padStart(2, "0")}`
        : `\\u${code.toString(16).padStart(4, "0")}`);
  });
}

/**
 * Formats a record as the default logger prints it: `[plugin] message`,
 * with the level when it is not `info`, and hclog fields as `key=value`,
 * control characters escaped ({@linkcode escapeControlChars}): one line
 * whatever the plugin sent.
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
  const level = record.level === "info" ? "" : ` ${String(record.level).toUpperCase()}`;
  const fields = record.fields
    ? Object.entries(record.fields).map(([k, v]) => ` ${k}=${jsonText(v)}`).join("")
    : "";
  return escapeControlChars(`[${record.plugin}]${level} ${record.message}${fields}`);
}

/**
 * The default logger: writes `[plugin] message` to the host's stderr, with
 * the level when it is not `info`, and hclog fields as `key=value`; one
 * record is always one line, its control characters escaped (see
 * {@linkcode escapeControlChars}), so a plugin cannot forge a line that
 * looks like the host's or another plugin's.
 *
 * @param record The record.
 * @example
 * ```ts
 * import { stderrLogger } from "./logger.ts";
 * stderrLogger({ plugin: "demo", level: "info", message: "hello", source: "stderr" });
 * ```
 */
export function stderrLogger(record: LogRecord): void {
  const text = formatLogRecord(record);
  try {
    Deno.stderr.writeSync(new TextEncoder().encode(`${text}\n`));
  } catch {
    // the host's stderr is gone; nothing useful to do
  }
}

function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return "<unprintable>";
  }
}
