/**
 * Connect-RPC on Node's `node:http2`, pinned (see `protobuf.ts`). Only
 * `src/transport/` imports this.
 *
 * @module
 */
export * from "npm:@connectrpc/connect-node@2.2.0";
