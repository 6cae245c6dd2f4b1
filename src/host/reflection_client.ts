/**
 * A client for gRPC server reflection: what services a plugin serves, the
 * descriptors of their messages, without the plugin's `.proto` files (see
 * `json_call.ts` to call them from JSON). It speaks `grpc.reflection.v1` and falls back to
 * `grpc.reflection.v1alpha` (what go-plugin Go plugins serve) when v1 is
 * `UNIMPLEMENTED` (`_reflection_ask.ts`); a type's imports are gathered by
 * `_reflection_registry.ts`.
 *
 * @module
 */
import {
  type DescMethod,
  type DescService,
  type FileRegistry,
  fromBinary,
} from "../npm/protobuf.ts";
import { FileDescriptorProtoSchema } from "../npm/protobuf_wkt.ts";
import type { FileDescriptorProto } from "../npm/protobuf_wkt.ts";
import { type Client, Code, ConnectError } from "../npm/connect.ts";
import { type Answer, type Ask, askReflection, unexpected } from "./_reflection_ask.ts";
import { registryOf } from "./_reflection_registry.ts";
import { parseMethodName } from "./json_call.ts";

/** Anything that makes Connect clients for a plugin's services, such as a `Plugin`. */
export interface ServiceClients {
  /** Returns a client for `service`. */
  client<T extends DescService>(service: T): Client<T>;
}

/** Which reflection service answered. */
export type ReflectionVersion = "v1" | "v1alpha";

/** Options for each call a {@linkcode ReflectionClient} makes. */
export interface ReflectionCallOptions {
  /** Aborts the call. */
  signal?: AbortSignal;
  /**
   * The call's deadline, in milliseconds.
   * @default {10000}
   */
  timeoutMs?: number;
}

/**
 * Asks a plugin's reflection service about its services and types. Each
 * request uses a stream of its own, so every answer carries all the files
 * it depends on. Stateless apart from remembering which version answered.
 *
 * @example
 * ```ts ignore
 * import { Plugin } from "./plugin.ts";
 * import { ReflectionClient } from "./reflection_client.ts";
 * await using plugin = await Plugin.start({ module: "examples/greeter/plugin.ts" });
 * const reflection = new ReflectionClient(plugin);
 * console.log(await reflection.listServices());
 * const method = await reflection.method("bulkhead.examples.greeter.v1.GreeterService/Greet");
 * console.log(method.input.typeName);
 * ```
 */
export class ReflectionClient {
  readonly #clients: ServiceClients;
  #version: ReflectionVersion | undefined;

  /**
   * Makes a reflection client for one plugin. Makes no call until asked.
   *
   * @param clients Makes clients for the plugin's services (a `Plugin` does).
   */
  constructor(clients: ServiceClients) {
    this.#clients = clients;
  }

  /** The reflection version that answered last, `undefined` before the first answer. */
  get version(): ReflectionVersion | undefined {
    return this.#version;
  }

  /**
   * Lists the fully qualified names of the services the plugin serves.
   *
   * @param options Signal and deadline.
   * @returns Service names in the order the plugin gave them.
   * @throws {ConnectError} When the call fails, or `UNIMPLEMENTED` when the plugin serves no reflection.
   * @example
   * ```ts ignore
   * const names = await new ReflectionClient(plugin).listServices();
   * ```
   */
  async listServices(options: ReflectionCallOptions = {}): Promise<string[]> {
    const response = await this.#ask({ case: "listServices", value: "" }, options);
    if (response.case !== "listServicesResponse") throw unexpected(response.case);
    return response.value.service.map((s) => s.name);
  }

  /**
   * Returns the file that declares a symbol (a service, method, message or
   * enum's full name), followed by the files it depends on, as the plugin sent them.
   *
   * @param symbol A fully qualified name, e.g. `pkg.Service` or `pkg.Message`.
   * @param options Signal and deadline.
   * @returns The file descriptors, the declaring file first.
   * @throws {ConnectError} `NOT_FOUND` when the plugin knows no such symbol.
   * @example
   * ```ts ignore
   * const [file] = await reflection.fileContainingSymbol("grpc.health.v1.Health");
   * ```
   */
  fileContainingSymbol(
    symbol: string,
    options: ReflectionCallOptions = {},
  ): Promise<FileDescriptorProto[]> {
    return this.#files({ case: "fileContainingSymbol", value: symbol }, options);
  }

  /**
   * Returns a file by its name, followed by the files it depends on.
   *
   * @param filename The file's name, e.g. `grpc/health/v1/health.proto`.
   * @param options Signal and deadline.
   * @returns The file descriptors, the named file first.
   * @throws {ConnectError} `NOT_FOUND` when the plugin knows no such file.
   * @example
   * ```ts ignore
   * const [file] = await reflection.fileByFilename("grpc/health/v1/health.proto");
   * ```
   */
  fileByFilename(
    filename: string,
    options: ReflectionCallOptions = {},
  ): Promise<FileDescriptorProto[]> {
    return this.#files({ case: "fileByFilename", value: filename }, options);
  }

  /**
   * Builds a registry of the file that declares `symbol` and everything it
   * imports. Imports the plugin left out are asked for by name, then taken
   * from the well-known types.
   *
   * @param symbol A fully qualified name.
   * @param options Signal and deadline.
   * @returns A registry holding the declaring file and its dependencies.
   * @throws {ConnectError} `NOT_FOUND` when the symbol or an import cannot be found.
   * @example
   * ```ts ignore
   * const registry = await reflection.registryFor("bulkhead.examples.greeter.v1.GreeterService");
   * ```
   */
  async registryFor(symbol: string, options: ReflectionCallOptions = {}): Promise<FileRegistry> {
    const files = await this.fileContainingSymbol(symbol, options);
    const root = files[0];
    if (!root) {
      throw new ConnectError(`Cannot find ${symbol}: no file in the answer`, Code.NotFound);
    }
    return await registryOf(root, files, (name) => this.fileByFilename(name, options));
  }

  /**
   * Resolves a service by its full name.
   *
   * @param name E.g. `bulkhead.examples.greeter.v1.GreeterService`.
   * @param options Signal and deadline.
   * @returns The service descriptor, usable with `plugin.client()`.
   * @throws {ConnectError} `NOT_FOUND` when the plugin serves no such service.
   * @example
   * ```ts ignore
   * const service = await reflection.service("grpc.health.v1.Health");
   * ```
   */
  async service(name: string, options: ReflectionCallOptions = {}): Promise<DescService> {
    const notFound = (cause?: unknown) =>
      new ConnectError(
        `Cannot find service "${name}": the plugin does not serve it`,
        Code.NotFound,
        undefined,
        undefined,
        cause,
      );
    let registry: FileRegistry;
    try {
      registry = await this.registryFor(name, options);
    } catch (error) {
      if (error instanceof ConnectError && error.code === Code.NotFound) throw notFound(error);
      throw error;
    }
    const service = registry.getService(name);
    if (!service) throw notFound();
    return service;
  }

  /**
   * Resolves a method from `package.Service/Method` (or `package.Service.Method`).
   *
   * @param name The method's full name.
   * @param options Signal and deadline.
   * @returns The method descriptor.
   * @throws {TypeError} When `name` is not of that form.
   * @throws {ConnectError} `NOT_FOUND` when there is no such service or method.
   * @example
   * ```ts ignore
   * const greet = await reflection.method("bulkhead.examples.greeter.v1.GreeterService/Greet");
   * ```
   */
  async method(name: string, options: ReflectionCallOptions = {}): Promise<DescMethod> {
    const parsed = parseMethodName(name);
    const service = await this.service(parsed.service, options);
    const method = service.methods.find((m) => m.name === parsed.method) ??
      service.methods.find((m) => m.localName === parsed.method);
    if (!method) {
      const known = service.methods.map((m) => m.name).join(", ") || "none";
      throw new ConnectError(
        `Cannot find method "${parsed.method}" in service "${parsed.service}" (its methods: ${known})`,
        Code.NotFound,
      );
    }
    return method;
  }

  #ask(request: Ask, options: ReflectionCallOptions): Promise<Answer> {
    const version = {
      known: this.#version,
      answered: (answered: ReflectionVersion) => this.#version = answered,
    };
    return askReflection(this.#clients, version, request, options);
  }

  async #files(
    request: Ask,
    options: ReflectionCallOptions,
  ): Promise<FileDescriptorProto[]> {
    const response = await this.#ask(request, options);
    if (response.case !== "fileDescriptorResponse") throw unexpected(response.case);
    return response.value.fileDescriptorProto.map((bytes) =>
      fromBinary(FileDescriptorProtoSchema, bytes)
    );
  }
}
