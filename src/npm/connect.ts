/**
 * Connect-RPC's API (clients, errors, service implementations), pinned
 * (see `protobuf.ts`).
 *
 * @module
 */
export * from "npm:@connectrpc/connect@2.2.0";
