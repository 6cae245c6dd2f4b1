/**
 * protobuf-es well-known types, pinned (see `protobuf.ts`, also for why
 * the names declared here carry `@ignore`).
 *
 * @module
 */
// pinned here on purpose: src/npm/ is where versions live (URL imports have no import map)
// deno-lint-ignore no-import-prefix
import type * as wkt from "npm:@bufbuild/protobuf@2.17.0/wkt";

export * from "npm:@bufbuild/protobuf@2.17.0/wkt";

/**
 * A `.proto` file's descriptor message (what server reflection returns).
 *
 * @ignore
 */
export type FileDescriptorProto = wkt.FileDescriptorProto;
