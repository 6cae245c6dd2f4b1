/**
 * protobuf-es helpers that generated code calls, pinned (see `protobuf.ts`).
 *
 * @module
 */
export * from "npm:@bufbuild/protobuf@2.17.0/codegenv2";
