/**
 * How `bulkhead` shows errors: one line, a gRPC code name and a message.
 *
 * @module
 */
import { Code, ConnectError } from "../npm/connect.ts";

/** An RPC error for display. */
export interface RpcErrorReport {
  /** The gRPC code's name, e.g. `NOT_FOUND`; `UNKNOWN` for errors that are not RPC errors. */
  code: string;
  /** The message, without the code. */
  message: string;
}

/**
 * Names a gRPC status code as gRPC does: `Code.NotFound` → `NOT_FOUND`.
 *
 * @param code The code.
 * @returns Its name.
 * @example
 * ```ts
 * import { codeName } from "./errors.ts";
 * import { Code } from "../npm/connect.ts";
 * if (codeName(Code.DeadlineExceeded) !== "DEADLINE_EXCEEDED") throw new Error();
 * ```
 */
export function codeName(code: Code): string {
  const name = Code[code] ?? `CODE_${code}`;
  return name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/**
 * Describes an error from an RPC for display.
 *
 * @param error What the call threw.
 * @returns Its code name and message.
 * @example
 * ```ts
 * import { describeRpcError } from "./errors.ts";
 * import { Code, ConnectError } from "../npm/connect.ts";
 * const report = describeRpcError(new ConnectError("no such thing", Code.NotFound));
 * if (report.code !== "NOT_FOUND" || report.message !== "no such thing") throw new Error();
 * ```
 */
export function describeRpcError(error: unknown): RpcErrorReport {
  if (error instanceof ConnectError) {
    return { code: codeName(error.code), message: error.rawMessage };
  }
  return { code: "UNKNOWN", message: error instanceof Error ? error.message : String(error) };
}
