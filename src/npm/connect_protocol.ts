/**
 * Connect-RPC's protocol helpers, pinned (see `protobuf.ts`). Only
 * `src/transport/` imports this.
 *
 * @module
 */
export * from "npm:@connectrpc/connect@2.2.0/protocol";
