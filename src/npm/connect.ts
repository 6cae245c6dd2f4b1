/**
 * Connect-RPC's API (clients, errors, service implementations), pinned
 * (see `protobuf.ts`).
 *
 * The names declared below are the ones Bulkhead's public API re-exports or
 * mentions in its signatures: the very same values and types as
 * Connect's, each with `@ignore` so that `deno doc --lint` stops at this
 * boundary (Connect documents them: https://connectrpc.com/docs/web/).
 * Re-exported by Bulkhead so that a user's `instanceof ConnectError` tests
 * the class Bulkhead throws, whatever else the user imports.
 *
 * @module
 */
// pinned here on purpose: src/npm/ is where versions live (URL imports have no import map)
// deno-lint-ignore no-import-prefix
import * as connect from "npm:@connectrpc/connect@2.2.0";
import type { DescService } from "./protobuf.ts";

export * from "npm:@connectrpc/connect@2.2.0";

/**
 * Connect's error class: `code`, `rawMessage`, `metadata`, `cause`.
 *
 * @ignore
 */
export const ConnectError: typeof connect.ConnectError = connect.ConnectError;
/**
 * Connect's error class (as a type).
 *
 * @ignore
 */
export type ConnectError = connect.ConnectError;
/**
 * gRPC status codes.
 *
 * @ignore
 */
export const Code: typeof connect.Code = connect.Code;
/**
 * A gRPC status code (as a type).
 *
 * @ignore
 */
export type Code = connect.Code;
/**
 * A typed client for a service over a transport (Connect's `createClient`).
 * `Plugin.client(Service)` does this for a plugin's main connection; use it
 * for a broker's channel (`createClient(Service, channel.transport)`).
 *
 * @param service The service's descriptor, e.g. `GreeterService` from a `*_pb.ts` file.
 * @param transport How to reach the server.
 * @returns One method per RPC.
 * @example
 * ```ts ignore
 * const greeter = createClient(GreeterService, channel.transport);
 * ```
 */
export function createClient<Desc extends DescService>(
  service: Desc,
  transport: Transport,
): Client<Desc> {
  return connect.createClient(service, transport);
}

/**
 * A fresh set of per-call context values (Connect's `createContextValues`),
 * e.g. to mark a call `RETRYABLE` for a `Supervisor`.
 *
 * @returns An empty set.
 * @example
 * ```ts ignore
 * const contextValues = createContextValues().set(RETRYABLE, true);
 * ```
 */
export function createContextValues(): ContextValues {
  return connect.createContextValues();
}

/**
 * A key for per-call context values (Connect's `createContextKey`).
 *
 * @param defaultValue The value when a call sets none.
 * @param options `description`: what the key is for (shown when debugging).
 * @returns The key.
 * @example
 * ```ts ignore
 * const TENANT = createContextKey<string>("none");
 * ```
 */
export function createContextKey<T>(
  defaultValue: T,
  options?: { description?: string },
): ContextKey<T> {
  return connect.createContextKey(defaultValue, options);
}

/**
 * A typed client: one method per RPC of `Desc`.
 *
 * @ignore
 */
export type Client<Desc extends DescService> = connect.Client<Desc>;
/**
 * An implementation of the service `Desc`: one handler per RPC.
 *
 * @ignore
 */
export type ServiceImpl<Desc extends DescService> = connect.ServiceImpl<Desc>;
/**
 * What a handler receives besides its request (signal, headers, values).
 *
 * @ignore
 */
export type HandlerContext = connect.HandlerContext;
/**
 * Options of one call (signal, timeout, headers, context values).
 *
 * @ignore
 */
export type CallOptions = connect.CallOptions;
/**
 * Per-call context values.
 *
 * @ignore
 */
export type ContextValues = connect.ContextValues;
/**
 * A key for per-call context values.
 *
 * @ignore
 */
export type ContextKey<T> = connect.ContextKey<T>;
/**
 * How a client reaches a server.
 *
 * @ignore
 */
export type Transport = connect.Transport;
