/**
 * What a handler's thrown error becomes on the wire, as grpc-go decides it:
 * a `ConnectError` keeps its code, anything else is `UNKNOWN` with its
 * message — except a denial by Deno's sandbox, which is `PERMISSION_DENIED`
 * with the grant that would allow it, so the plugin's author (or whoever
 * runs it) knows what to change.
 *
 * @module
 */
import { Code, ConnectError } from "../npm/connect.ts";

/** The permission key of `Permissions` (and the flag) for each kind Deno names. */
const GRANTS = new Map<string, { key: string; flag: string }>([
  ["read", { key: "read", flag: "--allow-read" }],
  ["write", { key: "write", flag: "--allow-write" }],
  ["net", { key: "net", flag: "--allow-net" }],
  ["env", { key: "env", flag: "--allow-env" }],
  ["sys", { key: "sys", flag: "--allow-sys" }],
  ["run", { key: "unsafeRun", flag: "--unsafe-allow-run" }],
  ["ffi", { key: "unsafeFfi", flag: "--unsafe-allow-ffi" }],
]);

/**
 * Explains a denial by Deno's sandbox (`Deno.errors.NotCapable`, or
 * `PermissionDenied` with Deno's "Requires … access" message) in Bulkhead's
 * words: what was refused and the grant that allows it.
 *
 * @param error What a handler threw.
 * @returns The explanation, or `undefined` when `error` is no sandbox denial.
 * @example
 * ```ts
 * import { explainPermissionDenial } from "./handler_error.ts";
 * const text = explainPermissionDenial(
 *   new Deno.errors.NotCapable('Requires read access to "/etc/passwd", run again with the --allow-read flag'),
 * );
 * if (!text?.includes('permissions.read: ["/etc/passwd"]')) throw new Error(text);
 * ```
 */
export function explainPermissionDenial(error: unknown): string | undefined {
  const denied = (typeof Deno.errors.NotCapable === "function" &&
    error instanceof Deno.errors.NotCapable) || error instanceof Deno.errors.PermissionDenied;
  if (!denied) return undefined;
  const message = (error as Error).message;
  const match = /Requires (\w+) access(?: to "([^"]*)"| to ([^,\s]+))?/.exec(message);
  if (!match) {
    // an operating system refusal (EACCES), not the sandbox: nothing to grant
    return error instanceof Deno.errors.NotCapable
      ? `denied by Deno's sandbox: ${message}`
      : undefined;
  }
  const kind = match[1]!;
  const target = match[2] ?? match[3];
  const grant = GRANTS.get(kind);
  if (!grant) return `denied by Deno's sandbox: ${message}`;
  const value = target === undefined ? "true" : `[${JSON.stringify(target)}]`;
  const flag = target === undefined ? grant.flag : `${grant.flag}=${target}`;
  return `the plugin may not ${kind} ${
    target === undefined ? "(any)" : JSON.stringify(target)
  }: Deno's sandbox denied it. Grant it with \`permissions.${grant.key}: ${value}\` ` +
    `(pipeline.yaml or Plugin.start), or \`${flag}\` on the bulkhead command line before --`;
}

/**
 * The status a handler's thrown error is answered with.
 *
 * @param error What the handler threw.
 * @returns A `ConnectError` as is; a sandbox denial as `PERMISSION_DENIED`;
 *   anything else as `UNKNOWN` with its message.
 * @example
 * ```ts
 * import { handlerError } from "./handler_error.ts";
 * import { Code } from "../npm/connect.ts";
 * if (handlerError(new Error("boom")).code !== Code.Unknown) throw new Error();
 * ```
 */
export function handlerError(error: unknown): ConnectError {
  if (error instanceof ConnectError) return error;
  const denial = explainPermissionDenial(error);
  if (denial !== undefined) {
    return new ConnectError(denial, Code.PermissionDenied, undefined, undefined, error);
  }
  return ConnectError.from(error, Code.Unknown);
}
