/**
 * The `yaml` parser (eemeli/yaml), pinned (see `protobuf.ts`): pipeline
 * configuration with the line and column of every node, for errors that
 * point into the file.
 *
 * @module
 */
export * from "npm:yaml@2.9.1";
