/**
 * Where `bulkhead call` finds a method's descriptors when the plugin serves
 * no reflection (go-plugin 1.0.1 plugins, go-plugin's Python example): a
 * compiled `FileDescriptorSet` (`--protoset`, as `buf build -o set.binpb`
 * or `protoc --descriptor_set_out --include_imports` write it), or `.proto`
 * files (`--proto`, `--import-path`) compiled by the buf Bulkhead pins.
 *
 * @module
 */
import { dirname, isAbsolute, relative, resolve } from "node:path";
import {
  create,
  createFileRegistry,
  type DescMethod,
  type FileRegistry,
  fromBinary,
} from "../npm/protobuf.ts";
import { type FileDescriptorProto, FileDescriptorSetSchema } from "../npm/protobuf_wkt.ts";
import { Code, ConnectError } from "../npm/connect.ts";
import { parseMethodName } from "../host/json_call.ts";
import { BufLaunchError, type BufOutcome, runBuf } from "../codegen/buf.ts";
import { UsageError } from "./args.ts";

/** Descriptors given on the command line instead of reflection. */
export interface DescriptorFiles {
  /** `--protoset FILE`s: binary `FileDescriptorSet`s. */
  protosets: string[];
  /** `--proto FILE`s. */
  protos: string[];
  /** `--import-path DIR`s. */
  importPaths: string[];
}

/**
 * Loads the descriptors: protosets as they are, `.proto` files through
 * `buf build`. Every failure is the user's to fix, so it is a
 * {@linkcode UsageError} that names the file.
 *
 * @param files The files from the command line.
 * @param signal Aborts buf.
 * @returns One registry holding every file.
 * @throws {UsageError} When a file cannot be read, parsed or compiled.
 * @example
 * ```ts ignore
 * const registry = await loadDescriptors({ protosets: ["kv.binpb"], protos: [], importPaths: [] });
 * ```
 */
export async function loadDescriptors(
  files: DescriptorFiles,
  signal?: AbortSignal,
): Promise<FileRegistry> {
  const sets: Uint8Array[] = [];
  for (const path of files.protosets) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (error) {
      throw new UsageError(`Cannot read --protoset ${path}: ${messageOf(error)}`, "call");
    }
    sets.push(bytes);
  }
  if (files.protos.length > 0) sets.push(await buildProtos(files, signal));
  const byName = new Map<string, FileDescriptorProto>();
  for (const [index, bytes] of sets.entries()) {
    const source = index < files.protosets.length
      ? `--protoset ${files.protosets[index]}`
      : "the compiled --proto files";
    let set;
    try {
      set = fromBinary(FileDescriptorSetSchema, bytes);
    } catch (error) {
      throw new UsageError(
        `Cannot use ${source}: not a binary FileDescriptorSet (${messageOf(error)})`,
        "call",
      );
    }
    for (const file of set.file) if (!byName.has(file.name)) byName.set(file.name, file);
  }
  try {
    return createFileRegistry(create(FileDescriptorSetSchema, { file: [...byName.values()] }));
  } catch (error) {
    throw new UsageError(
      `Cannot use the descriptors: ${messageOf(error)} ` +
        "(a protoset must include its imports: buf build, or protoc --include_imports)",
      "call",
    );
  }
}

/**
 * Finds a method in the given descriptors, as reflection would.
 *
 * @param registry The descriptors.
 * @param name `package.Service/Method` or `package.Service.Method`.
 * @returns The method.
 * @throws {ConnectError} `NOT_FOUND`, naming the services the files declare.
 * @example
 * ```ts ignore
 * const method = methodFromRegistry(registry, "bulkhead.examples.kv.v1.KvService/Get");
 * ```
 */
export function methodFromRegistry(registry: FileRegistry, name: string): DescMethod {
  const parsed = parseMethodName(name);
  const service = registry.getService(parsed.service);
  if (!service) {
    const known: string[] = [];
    for (const file of registry.files) for (const s of file.services) known.push(s.typeName);
    throw new ConnectError(
      `Cannot find service "${parsed.service}" in the given descriptors (they declare: ${
        known.join(", ") || "no service"
      })`,
      Code.NotFound,
    );
  }
  const method = service.methods.find((m) => m.name === parsed.method) ??
    service.methods.find((m) => m.localName === parsed.method);
  if (!method) {
    throw new ConnectError(
      `Cannot find method "${parsed.method}" in service "${parsed.service}" (its methods: ${
        service.methods.map((m) => m.name).join(", ") || "none"
      })`,
      Code.NotFound,
    );
  }
  return method;
}

/** Runs `buf build` on the `.proto` files; returns the FileDescriptorSet's bytes. */
async function buildProtos(files: DescriptorFiles, signal?: AbortSignal): Promise<Uint8Array> {
  if (files.importPaths.length > 1) {
    throw new UsageError(
      "Only one --import-path can be given: it is the root the .proto files import from",
      "call",
    );
  }
  const root = resolve(files.importPaths[0] ?? dirname(files.protos[0]!));
  const paths: string[] = [];
  for (const proto of files.protos) {
    const path = resolve(proto);
    const rel = relative(root, path);
    if (rel.startsWith("..") || isAbsolute(rel)) {
      throw new UsageError(`--proto ${proto} is not inside --import-path ${root}`, "call");
    }
    try {
      await Deno.stat(path);
    } catch (error) {
      throw new UsageError(`Cannot read --proto ${proto}: ${messageOf(error)}`, "call");
    }
    paths.push(path);
  }
  let outcome: BufOutcome;
  try {
    outcome = await runBuf({
      command: ["build"],
      root,
      paths,
      tail: ["--as-file-descriptor-set", "-o", "-"],
      signal,
    });
  } catch (error) {
    if (!(error instanceof BufLaunchError)) throw error;
    throw new UsageError(`Cannot compile the --proto files: ${error.message}`);
  }
  if (outcome.ok) return outcome.stdout;
  throw new UsageError(
    `Cannot compile the --proto files:\n  ${outcome.detail.join("\n  ")}`,
    "call",
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
