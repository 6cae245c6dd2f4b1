/**
 * The one environment variable of reattach: a Bulkhead host sets
 * `BULKHEAD_REATTACH_WINDOW_MS` for a plugin started with `reattachable:
 * true`. A Bulkhead plugin then does not leave as soon as its host is gone
 * (stdin EOF, parent changed): it waits that many milliseconds for a
 * successor, which announces itself by writing a line to the plugin's stdin
 * (reopened through `/proc/<pid>/fd/0`), and leaves when none came.
 *
 * @module
 */

/** Environment variable: the reattach window in milliseconds (absent: not reattachable). */
export const ENV_REATTACH_WINDOW_MS = "BULKHEAD_REATTACH_WINDOW_MS";

/** The reattach window a plugin gets when `reattachable: true` names none. */
export const DEFAULT_REATTACH_WINDOW_MS = 10_000;

/** The longest reattach window (an hour): a host that is gone for longer is not coming back. */
export const MAX_REATTACH_WINDOW_MS = 3_600_000;
