import assert from "node:assert/strict";
import { Plugin } from "../../mod.ts";
import { callUnaryJson, parseMethodName } from "../../src/host/json_call.ts";
import { ReflectionClient, type ServiceClients } from "../../src/host/reflection_client.ts";
import { Code, ConnectError } from "../../src/npm/connect.ts";
import { create, createFileRegistry, type DescService } from "../../src/npm/protobuf.ts";
import { FileDescriptorProtoSchema } from "../../src/npm/protobuf_wkt.ts";
import {
  file_grpc_reflection_v1_reflection,
  ServerReflection as ReflectionV1,
} from "../../src/gen/grpc/reflection/v1/reflection_pb.ts";
import { ServerReflection as ReflectionV1alpha } from "../../src/gen/grpc/reflection/v1alpha/reflection_pb.ts";

const GREETER = new URL("../../examples/greeter/plugin.ts", import.meta.url);
const SERVICE = "bulkhead.examples.greeter.v1.GreeterService";

function startGreeter(): Promise<Plugin> {
  return Plugin.start({ module: GREETER, name: "greeter", logger: () => {} });
}

/**
 * A reflection service no plugin serves, with the same method and messages
 * as the real one: calls to it reach the plugin and come back UNIMPLEMENTED.
 */
function unservedReflection(): DescService {
  const proto = create(FileDescriptorProtoSchema, {
    name: "bulkhead/testing/unserved_reflection.proto",
    package: "bulkhead.testing.unserved",
    syntax: "proto3",
    dependency: [file_grpc_reflection_v1_reflection.proto.name],
    service: [{
      name: "ServerReflection",
      method: [{
        name: "ServerReflectionInfo",
        inputType: ".grpc.reflection.v1.ServerReflectionRequest",
        outputType: ".grpc.reflection.v1.ServerReflectionResponse",
        clientStreaming: true,
        serverStreaming: true,
      }],
    }],
  });
  const registry = createFileRegistry(
    proto,
    (name) =>
      name === file_grpc_reflection_v1_reflection.proto.name
        ? file_grpc_reflection_v1_reflection
        : undefined,
  );
  const service = registry.getService("bulkhead.testing.unserved.ServerReflection");
  assert.ok(service);
  return service;
}

/** The plugin's clients, except that the given reflection services go unanswered. */
function without(plugin: Plugin, hidden: readonly DescService[]): ServiceClients {
  const unserved = unservedReflection();
  return {
    client: (service) => plugin.client(hidden.includes(service) ? unserved : service) as never,
  };
}

Deno.test("ReflectionClient.listServices() lists the plugin's services", async () => {
  await using plugin = await startGreeter();
  const reflection = new ReflectionClient(plugin);
  assert.equal(reflection.version, undefined);
  const services = await reflection.listServices();
  assert.ok(services.includes(SERVICE), services.join(", "));
  assert.ok(services.includes("grpc.health.v1.Health"), services.join(", "));
  assert.equal(reflection.version, "v1");
});

Deno.test("ReflectionClient.fileContainingSymbol() returns the declaring file first", async () => {
  await using plugin = await startGreeter();
  const reflection = new ReflectionClient(plugin);
  const files = await reflection.fileContainingSymbol(SERVICE);
  assert.equal(files[0]?.package, "bulkhead.examples.greeter.v1");
  assert.equal(files[0]?.service[0]?.name, "GreeterService");
  const [health] = await reflection.fileContainingSymbol("grpc.health.v1.HealthCheckRequest");
  assert.equal(health?.package, "grpc.health.v1");
});

Deno.test({
  name: "ReflectionClient.fileByFilename() returns the named file",
  async fn() {
    await using plugin = await startGreeter();
    const reflection = new ReflectionClient(plugin);
    const [file] = await reflection.fileContainingSymbol(SERVICE);
    assert.ok(file);
    const [again] = await reflection.fileByFilename(file.name);
    assert.equal(again?.name, file.name);
  },
});

Deno.test("ReflectionClient.method() resolves a method and its message types", async (t) => {
  await using plugin = await startGreeter();
  const reflection = new ReflectionClient(plugin);
  for (const name of [`${SERVICE}/Greet`, `${SERVICE}.Greet`, `/${SERVICE}/Greet`]) {
    await t.step(name, async () => {
      const method = await reflection.method(name);
      assert.equal(method.name, "Greet");
      assert.equal(method.methodKind, "unary");
      assert.equal(method.input.typeName, "bulkhead.examples.greeter.v1.GreetRequest");
      assert.equal(method.output.typeName, "bulkhead.examples.greeter.v1.GreetResponse");
    });
  }
});

Deno.test("ReflectionClient.method() throws NOT_FOUND for an unknown service or method", async (t) => {
  await using plugin = await startGreeter();
  const reflection = new ReflectionClient(plugin);
  await t.step("unknown service", async () => {
    await assert.rejects(reflection.method("no.such.Service/Greet"), (error) => {
      assert.ok(error instanceof ConnectError);
      assert.equal(error.code, Code.NotFound);
      assert.match(error.rawMessage, /Cannot find service "no\.such\.Service"/);
      return true;
    });
  });
  await t.step("unknown method", async () => {
    await assert.rejects(reflection.method(`${SERVICE}/Wave`), (error) => {
      assert.ok(error instanceof ConnectError);
      assert.equal(error.code, Code.NotFound);
      assert.match(error.rawMessage, /Cannot find method "Wave".*its methods: Greet/);
      return true;
    });
  });
  await t.step("a malformed name is a TypeError", async () => {
    await assert.rejects(reflection.method("Greet"), TypeError);
  });
});

Deno.test("ReflectionClient falls back to v1alpha when v1 is UNIMPLEMENTED", async () => {
  await using plugin = await startGreeter();
  const reflection = new ReflectionClient(without(plugin, [ReflectionV1]));
  const services = await reflection.listServices();
  assert.ok(services.includes(SERVICE));
  assert.equal(reflection.version, "v1alpha");
  const method = await reflection.method(`${SERVICE}/Greet`);
  assert.equal(method.input.typeName, "bulkhead.examples.greeter.v1.GreetRequest");
});

Deno.test("ReflectionClient throws UNIMPLEMENTED when the plugin serves no reflection", async () => {
  await using plugin = await startGreeter();
  const reflection = new ReflectionClient(without(plugin, [ReflectionV1, ReflectionV1alpha]));
  await assert.rejects(reflection.listServices(), (error) => {
    assert.ok(error instanceof ConnectError);
    assert.equal(error.code, Code.Unimplemented);
    assert.match(error.rawMessage, /neither grpc\.reflection\.v1 nor v1alpha/);
    return true;
  });
});

Deno.test("callUnaryJson() makes a unary call from JSON", async () => {
  await using plugin = await startGreeter();
  const method = await new ReflectionClient(plugin).method(`${SERVICE}/Greet`);
  assert.deepEqual(await callUnaryJson(plugin, method, { name: "Ada" }), {
    greeting: "Hello, Ada!",
  });
  const health = await new ReflectionClient(plugin).method("grpc.health.v1.Health/Check");
  assert.deepEqual(
    await callUnaryJson(plugin, health, { service: "plugin" }, { timeoutMs: 5000 }),
    {
      status: "SERVING",
    },
  );
});

Deno.test("callUnaryJson() rejects a streaming method and a request that does not fit", async (t) => {
  await using plugin = await startGreeter();
  const reflection = new ReflectionClient(plugin);
  await t.step("streaming method", async () => {
    const watch = await reflection.method("grpc.health.v1.Health/Watch");
    await assert.rejects(callUnaryJson(plugin, watch, {}), /server streaming, not unary/);
  });
  await t.step("unknown field", async () => {
    const greet = await reflection.method(`${SERVICE}/Greet`);
    await assert.rejects(callUnaryJson(plugin, greet, { nmae: "Ada" }), (error) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /GreeterService\/Greet.*"nmae"/);
      return true;
    });
  });
});

Deno.test("parseMethodName() splits both forms and rejects others", () => {
  assert.deepEqual(parseMethodName("a.b.Svc/Do"), { service: "a.b.Svc", method: "Do" });
  assert.deepEqual(parseMethodName("a.b.Svc.Do"), { service: "a.b.Svc", method: "Do" });
  assert.deepEqual(parseMethodName("/Svc/Do"), { service: "Svc", method: "Do" });
  for (const bad of ["", "Do", "Svc/", "/Do", "a/b/c", "Svc/Do Now"]) {
    assert.throws(() => parseMethodName(bad), TypeError, bad);
  }
});
