/**
 * The protobuf-es runtime, pinned. Every import of `@bufbuild/protobuf`
 * goes through `src/npm/`, so the version changes in one folder and
 * `mod.ts` stays importable by URL, where no import map applies.
 *
 * @module
 */
export * from "npm:@bufbuild/protobuf@2.17.0";
