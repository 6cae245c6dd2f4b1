/**
 * NATS JetStream for the client in `nats.ts` (nats.js v3), pinned, same
 * version.
 *
 * @module
 */
export * from "npm:@nats-io/jetstream@3.4.0";
