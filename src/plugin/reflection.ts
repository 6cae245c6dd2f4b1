/**
 * gRPC server reflection (`grpc.reflection.v1` and `v1alpha`), so `bulkhead
 * call`, grpcurl and friends can discover a plugin's services and message
 * types without its `.proto` files.
 *
 * @module
 */
import {
  type DescFile,
  type DescService,
  type MessageInitShape,
  toBinary,
} from "../npm/protobuf.ts";
import { FileDescriptorProtoSchema } from "../npm/protobuf_wkt.ts";
import type { ServiceImpl } from "../npm/connect.ts";
import {
  ServerReflection as ReflectionV1,
  type ServerReflectionRequest,
  type ServerReflectionResponseSchema,
} from "../gen/grpc/reflection/v1/reflection_pb.ts";
import { ServerReflection as ReflectionV1alpha } from "../gen/grpc/reflection/v1alpha/reflection_pb.ts";

type ResponseInit = MessageInitShape<typeof ServerReflectionResponseSchema>;

/** Answers one reflection request from the files that declare `services`. */
function answer(
  services: readonly DescService[],
  request: ServerReflectionRequest,
): ResponseInit {
  const files = new Map<string, DescFile>();
  const addFile = (file: DescFile) => {
    if (files.has(file.proto.name)) return;
    files.set(file.proto.name, file);
    for (const dep of file.dependencies) addFile(dep);
  };
  for (const service of services) addFile(service.file);
  const original = {
    host: request.host,
    messageRequest: request.messageRequest,
  } as ResponseInit["originalRequest"];
  const notFound = (what: string): ResponseInit => ({
    originalRequest: original,
    messageResponse: {
      case: "errorResponse",
      value: { errorCode: 5, errorMessage: `${what} not found` },
    },
  });
  const withDeps = (file: DescFile): ResponseInit => {
    const out: Uint8Array[] = [];
    const seen = new Set<string>();
    const visit = (f: DescFile) => {
      if (seen.has(f.proto.name)) return;
      seen.add(f.proto.name);
      out.push(toBinary(FileDescriptorProtoSchema, f.proto));
      for (const dep of f.dependencies) visit(dep);
    };
    visit(file);
    return {
      originalRequest: original,
      messageResponse: { case: "fileDescriptorResponse", value: { fileDescriptorProto: out } },
    };
  };
  const req = request.messageRequest;
  switch (req.case) {
    case "listServices":
      return {
        originalRequest: original,
        messageResponse: {
          case: "listServicesResponse",
          value: { service: services.map((s) => ({ name: s.typeName })) },
        },
      };
    case "fileByFilename": {
      const file = files.get(req.value);
      return file ? withDeps(file) : notFound(`file ${req.value}`);
    }
    case "fileContainingSymbol": {
      const symbol = req.value;
      for (const file of files.values()) {
        if (declares(file, symbol)) return withDeps(file);
      }
      return notFound(`symbol ${symbol}`);
    }
    case "fileContainingExtension":
    case "allExtensionNumbersOfType":
      return notFound("extension");
    default:
      return {
        originalRequest: original,
        messageResponse: {
          case: "errorResponse",
          value: { errorCode: 3, errorMessage: "empty reflection request" },
        },
      };
  }
}

function declares(file: DescFile, symbol: string): boolean {
  for (const service of file.services) {
    if (service.typeName === symbol) return true;
    if (service.methods.some((m) => `${service.typeName}.${m.name}` === symbol)) return true;
  }
  const pkg = file.proto.package;
  const messageNames = (names: string[], prefix: string, types: typeof file.proto.messageType) => {
    for (const type of types) {
      const full = `${prefix}${type.name}`;
      names.push(full);
      for (const e of type.enumType) names.push(`${full}.${e.name}`);
      messageNames(names, `${full}.`, type.nestedType);
    }
    return names;
  };
  const names = messageNames([], pkg ? `${pkg}.` : "", file.proto.messageType);
  for (const e of file.proto.enumType) names.push(pkg ? `${pkg}.${e.name}` : e.name);
  return names.includes(symbol);
}

/**
 * Implements `grpc.reflection.v1.ServerReflection` and its `v1alpha` twin.
 *
 * @param services The services to describe (the plugin's own and the built-ins).
 * @returns The two implementations.
 * @example
 * ```ts ignore
 * const { v1, v1alpha } = reflectionServices([GreeterService]);
 * ```
 */
export function reflectionServices(services: readonly DescService[]): {
  v1: ServiceImpl<typeof ReflectionV1>;
  v1alpha: ServiceImpl<typeof ReflectionV1alpha>;
} {
  return {
    v1: {
      async *serverReflectionInfo(requests) {
        for await (const request of requests) yield answer(services, request);
      },
    },
    v1alpha: {
      async *serverReflectionInfo(requests) {
        // v1alpha's messages have the same fields and numbers as v1's
        for await (const request of requests) {
          yield answer(services, request as unknown as ServerReflectionRequest) as never;
        }
      },
    },
  };
}

export { ReflectionV1, ReflectionV1alpha };
