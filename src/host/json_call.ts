/**
 * Unary calls made from JSON (proto3 JSON mapping), like grpcurl, with
 * descriptors found by reflection or generated: what `bulkhead call` does.
 *
 * @module
 */
import {
  createRegistry,
  type DescFile,
  type DescMethod,
  fromJson,
  type JsonValue,
  type Message,
  type Registry,
  toJson,
} from "../npm/protobuf.ts";
import type { ServiceClients } from "./reflection_client.ts";

/**
 * Splits `package.Service/Method` or `package.Service.Method` (a leading `/`
 * is allowed) into the service's full name and the method's name.
 *
 * @param name The method's full name.
 * @returns The service and method names.
 * @throws {TypeError} When `name` has no service part or no method part.
 * @example
 * ```ts
 * import { parseMethodName } from "./json_call.ts";
 * const { service, method } = parseMethodName("grpc.health.v1.Health.Check");
 * if (service !== "grpc.health.v1.Health" || method !== "Check") throw new Error();
 * ```
 */
export function parseMethodName(name: string): { service: string; method: string } {
  const trimmed = name.replace(/^\//, "");
  const slash = trimmed.lastIndexOf("/");
  const cut = slash >= 0 ? slash : trimmed.lastIndexOf(".");
  const service = trimmed.slice(0, cut);
  const method = trimmed.slice(cut + 1);
  if (cut <= 0 || !method || /[/\s]/.test(service) || /[./\s]/.test(method)) {
    throw new TypeError(
      `Cannot parse method name ${JSON.stringify(name)}: expected package.Service/Method`,
    );
  }
  return { service, method };
}

/** Options for {@linkcode callUnaryJson}. */
export interface CallJsonOptions {
  /** Aborts the call. */
  signal?: AbortSignal;
  /** The call's deadline, in milliseconds. @default {no deadline} */
  timeoutMs?: number;
  /**
   * Resolves `google.protobuf.Any` contents in the request and response.
   * @default {the method's file and everything it imports}
   */
  registry?: Registry;
}

/**
 * Makes one unary call from a JSON request and returns the JSON response
 * (proto3 JSON mapping), like grpcurl. Works with descriptors from
 * {@linkcode ReflectionClient.method} or generated code alike.
 *
 * @param clients Makes clients for the plugin's services (a `Plugin` does).
 * @param method The method to call; must be unary.
 * @param request The request in proto3 JSON.
 * @param options Signal, deadline and a registry for `Any`.
 * @returns The response in proto3 JSON (fields with default values left out).
 * @throws {TypeError} When the method is not unary or the request does not fit its input type.
 * @throws {ConnectError} When the call fails.
 * @example
 * ```ts ignore
 * const method = await reflection.method("bulkhead.examples.greeter.v1.GreeterService/Greet");
 * const reply = await callUnaryJson(plugin, method, { name: "Ada" });
 * // { greeting: "Hello, Ada!" }
 * ```
 */
export async function callUnaryJson(
  clients: ServiceClients,
  method: DescMethod,
  request: JsonValue,
  options: CallJsonOptions = {},
): Promise<JsonValue> {
  if (method.methodKind !== "unary") {
    throw new TypeError(
      `Cannot call ${method.parent.typeName}/${method.name}: it is ${
        method.methodKind.replace("_", " ")
      }, not unary`,
    );
  }
  const registryOption = { registry: options.registry ?? registryOf(method.parent.file) };
  let input: Message;
  try {
    input = fromJson(method.input, request, registryOption);
  } catch (error) {
    throw new TypeError(
      `Cannot use the request for ${method.parent.typeName}/${method.name}: ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  }
  const client = clients.client(method.parent) as unknown as Record<
    string,
    (input: Message, options: { signal?: AbortSignal; timeoutMs?: number }) => Promise<Message>
  >;
  // the method's name may come from the plugin's reflection: an own property or nothing
  const call = Object.hasOwn(client, method.localName) ? client[method.localName] : undefined;
  if (typeof call !== "function") {
    throw new TypeError(`Cannot call ${method.name}: the client has no such method`);
  }
  const response = await call(input, {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  return toJson(method.output, response, registryOption);
}

/** Options for {@linkcode callJson}. */
export interface CallJsonStreamOptions extends CallJsonOptions {
  /** Request metadata (gRPC headers) to send. */
  headers?: HeadersInit;
}

/**
 * Makes a call of any kind from JSON requests, like grpcurl: unary and
 * server-streaming methods take exactly one request, client-streaming and
 * bidi methods take as many as `requests` yields (sent as they come). Yields
 * each response in proto3 JSON as it arrives. Aborting `options.signal`
 * cancels the call (the plugin sees RST_STREAM CANCEL).
 *
 * @param clients Makes clients for the plugin's services (a `Plugin` does).
 * @param method The method to call.
 * @param requests The requests in proto3 JSON.
 * @param options Signal, deadline, metadata and a registry for `Any`.
 * @returns The responses in proto3 JSON, in order.
 * @throws {TypeError} When a request does not fit the input type, or a
 *   unary or server-streaming method gets other than one request.
 * @throws {ConnectError} When the call fails.
 * @example
 * ```ts ignore
 * for await (const reply of callJson(plugin, method, [{ count: 3 }])) console.log(reply);
 * ```
 */
export async function* callJson(
  clients: ServiceClients,
  method: DescMethod,
  requests: Iterable<JsonValue> | AsyncIterable<JsonValue>,
  options: CallJsonStreamOptions = {},
): AsyncGenerator<JsonValue> {
  const registryOption = { registry: options.registry ?? registryOf(method.parent.file) };
  const name = `${method.parent.typeName}/${method.name}`;
  let count = 0;
  const toMessage = (request: JsonValue): Message => {
    count++;
    try {
      return fromJson(method.input, request, registryOption);
    } catch (error) {
      throw new TypeError(
        `Cannot use request ${count} for ${name}: ${
          error instanceof Error ? error.message : String(error)
        }`,
        { cause: error },
      );
    }
  };
  const callOptions = {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.headers === undefined ? {} : { headers: options.headers }),
  };
  const client = clients.client(method.parent) as unknown as Record<
    string,
    (input: unknown, options: unknown) => unknown
  >;
  const call = client[method.localName];
  if (!call) throw new TypeError(`Cannot call ${method.name}: the client has no such method`);
  const streamsIn = method.methodKind === "client_streaming" ||
    method.methodKind === "bidi_streaming";
  let result: unknown;
  // a request that does not fit is the caller's mistake, not the call's failure
  let inputError: unknown;
  if (streamsIn) {
    const messages = async function* () {
      try {
        for await (const request of requests) yield toMessage(request);
      } catch (error) {
        inputError ??= error;
        throw error;
      }
    };
    result = call(messages(), callOptions);
  } else {
    const all: JsonValue[] = [];
    for await (const request of requests) all.push(request);
    if (all.length !== 1) {
      throw new TypeError(
        `Cannot call ${name}: it is ${
          method.methodKind.replace("_", " ")
        } and takes exactly one request, got ${all.length}`,
      );
    }
    const input = toMessage(all[0]!);
    result = call(input, callOptions);
  }
  try {
    if (method.methodKind === "unary" || method.methodKind === "client_streaming") {
      yield toJson(method.output, (await result) as Message, registryOption);
      return;
    }
    for await (const response of result as AsyncIterable<Message>) {
      yield toJson(method.output, response, registryOption);
    }
  } catch (error) {
    throw inputError ?? error;
  }
}

function registryOf(file: DescFile): Registry {
  const files = new Map<string, DescFile>();
  const visit = (f: DescFile) => {
    if (files.has(f.name)) return;
    files.set(f.name, f);
    f.dependencies.forEach(visit);
  };
  visit(file);
  return createRegistry(...files.values());
}
