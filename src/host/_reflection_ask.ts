/**
 * One request to a plugin's gRPC reflection service, on a stream of its
 * own: `grpc.reflection.v1`, falling back to `v1alpha` (what go-plugin Go
 * plugins serve) when v1 is `UNIMPLEMENTED`. Internal to `src/host/`.
 *
 * @module
 */
import type { MessageInitShape } from "../npm/protobuf.ts";
import { type Client, Code, ConnectError } from "../npm/connect.ts";
import {
  ServerReflection as ReflectionV1,
  type ServerReflectionRequestSchema,
  type ServerReflectionResponse,
} from "../gen/grpc/reflection/v1/reflection_pb.ts";
import { ServerReflection as ReflectionV1alpha } from "../gen/grpc/reflection/v1alpha/reflection_pb.ts";
import type {
  ReflectionCallOptions,
  ReflectionVersion,
  ServiceClients,
} from "./reflection_client.ts";

/** The requests a reflection client makes (extensions are not asked about). */
export type Ask = {
  case: "listServices" | "fileByFilename" | "fileContainingSymbol";
  value: string;
};

/** An answer's message. */
export type Answer = ServerReflectionResponse["messageResponse"];

/** Which version to try and where to record the one that answered. */
export interface AskVersion {
  /** The version that answered last, if any. */
  readonly known: ReflectionVersion | undefined;
  /** Called with the version that answered. */
  answered(version: ReflectionVersion): void;
}

/**
 * Asks one question, trying v1 then v1alpha (only v1alpha once it answered).
 *
 * @param clients Makes clients for the plugin's services.
 * @param version The version state.
 * @param messageRequest The question.
 * @param options Signal and deadline.
 * @returns The answer (never an `errorResponse`: that is thrown).
 * @throws {ConnectError} When the call fails or the plugin answers an error.
 */
export async function askReflection(
  clients: ServiceClients,
  version: AskVersion,
  messageRequest: Ask,
  options: ReflectionCallOptions,
): Promise<Answer> {
  const versions: ReflectionVersion[] = version.known === "v1alpha"
    ? ["v1alpha"]
    : ["v1", "v1alpha"];
  let lastError: unknown;
  for (const tried of versions) {
    try {
      const response = await askOnce(clients, tried, { messageRequest }, options);
      version.answered(tried);
      if (response.case === "errorResponse") {
        throw new ConnectError(
          response.value.errorMessage,
          response.value.errorCode in Code ? response.value.errorCode : Code.Unknown,
        );
      }
      return response;
    } catch (error) {
      if (!(error instanceof ConnectError) || error.code !== Code.Unimplemented) throw error;
      if (version.known === tried) throw error;
      lastError = error;
    }
  }
  throw new ConnectError(
    "Cannot use reflection: the plugin serves neither grpc.reflection.v1 nor v1alpha",
    Code.Unimplemented,
    undefined,
    undefined,
    lastError,
  );
}

async function askOnce(
  clients: ServiceClients,
  version: ReflectionVersion,
  request: MessageInitShape<typeof ServerReflectionRequestSchema>,
  options: ReflectionCallOptions,
): Promise<Answer> {
  options.signal?.throwIfAborted();
  const callOptions = {
    timeoutMs: options.timeoutMs ?? 10_000,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  // v1alpha's messages have the same fields and numbers as v1's
  const client = version === "v1"
    ? clients.client(ReflectionV1)
    : clients.client(ReflectionV1alpha) as unknown as Client<typeof ReflectionV1>;
  async function* requests() {
    yield request;
  }
  let first: ServerReflectionResponse | undefined;
  for await (const response of client.serverReflectionInfo(requests(), callOptions)) {
    first ??= response;
  }
  if (!first) {
    throw new ConnectError("Cannot use reflection: the plugin sent no answer", Code.Internal);
  }
  return first.messageResponse;
}

/**
 * The error for an answer of the wrong kind.
 *
 * @param kind The answer's case.
 * @returns A `ConnectError` with code `INTERNAL`.
 */
export function unexpected(kind: string | undefined): ConnectError {
  return new ConnectError(
    `Cannot use reflection: unexpected answer ${kind ?? "(empty)"}`,
    Code.Internal,
  );
}
