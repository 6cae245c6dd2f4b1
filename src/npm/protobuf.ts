/**
 * The protobuf-es runtime, pinned. Every import of `@bufbuild/protobuf`
 * goes through `src/npm/`, so the version changes in one folder and
 * `mod.ts` stays importable by URL, where no import map applies.
 *
 * The names declared below (rather than only re-exported) are the ones
 * Bulkhead's public API re-exports or mentions in its signatures. They are
 * the very same values and types as protobuf-es's; each carries `@ignore`
 * so that `deno doc --lint` on Bulkhead's entry points stops at this
 * boundary instead of linting protobuf-es's own declarations (documented
 * upstream, at https://github.com/bufbuild/protobuf-es).
 *
 * @module
 */
// pinned here on purpose: src/npm/ is where versions live (URL imports have no import map)
// deno-lint-ignore no-import-prefix
import * as protobuf from "npm:@bufbuild/protobuf@2.17.0";

export * from "npm:@bufbuild/protobuf@2.17.0";

/**
 * A new message of a generated schema (protobuf-es's `create`).
 *
 * @param schema The message's schema, e.g. `GreetRequestSchema` from a `*_pb.ts` file.
 * @param init Field values; the rest take their defaults.
 * @returns The message.
 * @example
 * ```ts ignore
 * const request = create(GreetRequestSchema, { name: "Ada" });
 * ```
 */
export function create<Desc extends DescMessage>(
  schema: Desc,
  init?: MessageInitShape<Desc>,
): MessageShape<Desc> {
  return protobuf.create(schema, init);
}

/**
 * A message's protobuf wire encoding (protobuf-es's `toBinary`).
 *
 * @param schema The message's schema.
 * @param message The message.
 * @returns Its bytes.
 * @example
 * ```ts ignore
 * const bytes = toBinary(GreetRequestSchema, create(GreetRequestSchema, { name: "Ada" }));
 * ```
 */
export function toBinary<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
): Uint8Array<ArrayBuffer> {
  return protobuf.toBinary(schema, message);
}

/**
 * A message from its protobuf wire encoding (protobuf-es's `fromBinary`).
 *
 * @param schema The message's schema.
 * @param bytes Its bytes.
 * @returns The message.
 * @throws {Error} When the bytes are not a valid encoding.
 * @example
 * ```ts ignore
 * const request = fromBinary(GreetRequestSchema, bytes);
 * ```
 */
export function fromBinary<Desc extends DescMessage>(
  schema: Desc,
  bytes: Uint8Array,
): MessageShape<Desc> {
  return protobuf.fromBinary(schema, bytes);
}

/**
 * A generated service's descriptor (what `*_pb.ts` exports as `…Service`).
 *
 * @ignore
 */
export type DescService = protobuf.DescService;
/**
 * A method's descriptor.
 *
 * @ignore
 */
export type DescMethod = protobuf.DescMethod;
/**
 * A message's descriptor (what `*_pb.ts` exports as `…Schema`).
 *
 * @ignore
 */
export type DescMessage = protobuf.DescMessage;
/**
 * A `.proto` file's descriptor.
 *
 * @ignore
 */
export type DescFile = protobuf.DescFile;
/**
 * A message of schema `Desc`.
 *
 * @ignore
 */
export type MessageShape<Desc extends DescMessage> = protobuf.MessageShape<Desc>;
/**
 * What `create(Desc, init)` accepts.
 *
 * @ignore
 */
export type MessageInitShape<Desc extends DescMessage> = protobuf.MessageInitShape<Desc>;
/**
 * Any message.
 *
 * @ignore
 */
export type Message<TypeName extends string = string> = protobuf.Message<TypeName>;
/**
 * A JSON value.
 *
 * @ignore
 */
export type JsonValue = protobuf.JsonValue;
/**
 * A set of descriptors to look types up in.
 *
 * @ignore
 */
export type Registry = protobuf.Registry;
/**
 * A registry of whole `.proto` files.
 *
 * @ignore
 */
export type FileRegistry = protobuf.FileRegistry;
