/**
 * The versions Bulkhead pins, for what must name a version in a string
 * rather than in an import (code generation: buf, protoc-gen-es, and the
 * imports it writes). The `npm:` imports in this folder use the same
 * versions; a test keeps them equal.
 *
 * @module
 */

/** protobuf-es: the runtime (`@bufbuild/protobuf`) and its generator (`protoc-gen-es`). */
export const PROTOBUF_ES_VERSION = "2.17.0";

/** buf, the protobuf compiler `bulkhead gen` runs (npm `@bufbuild/buf`). */
export const BUF_VERSION = "1.75.0";
