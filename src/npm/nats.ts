/**
 * The NATS client core on Node's transport (nats.js v3; runs under Deno),
 * pinned (see `protobuf.ts`). Only the pipeline's `nats_jetstream` input and
 * output, their tests and the NATS benchmark import it.
 *
 * @module
 */
export * from "npm:@nats-io/transport-node@3.4.0";
