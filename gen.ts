/**
 * Code generation for your own `.proto` files, as `bulkhead gen` does it:
 * buf and protoc-gen-es from npm at Bulkhead's pinned versions. The
 * generated `*_pb.ts` files import protobuf-es by full pinned specifier
 * (`npm:@bufbuild/protobuf@2.17.0/codegenv2`), so they need no import map
 * and share the protobuf-es instance Bulkhead loads.
 *
 * @example
 * ```ts ignore
 * import { generateCode, ProtoCompileError } from "bulkhead/gen.ts";
 * try {
 *   const { files } = await generateCode(["proto"], { out: "gen" });
 *   console.log(files);
 * } catch (error) {
 *   if (error instanceof ProtoCompileError) console.error(error.diagnostics);
 *   else throw error;
 * }
 * ```
 *
 * @module
 */
export {
  generateCode,
  type GenerateOptions,
  type GenerateResult,
} from "./src/codegen/generate_code.ts";
export { ProtoCompileError, type ProtoDiagnostic } from "./src/codegen/proto_compile_error.ts";
export { BUF_VERSION, PROTOBUF_ES_VERSION } from "./src/npm/versions.ts";
