/**
 * protobuf-es well-known types, pinned (see `protobuf.ts`).
 *
 * @module
 */
export * from "npm:@bufbuild/protobuf@2.17.0/wkt";
