/**
 * Names a plugin sends that every plain object already has: a structured
 * value's field names (Redpanda Connect messages and metadata) stay data
 * (Deno has no `Object.prototype.__proto__` accessor, so assigning them
 * makes own properties; this test keeps it so).
 */
import assert from "node:assert/strict";
import { fromValue, toValue } from "../../src/protocol/redpanda_value.ts";
import { create } from "../../src/npm/protobuf.ts";
import {
  StructValueSchema,
  ValueSchema,
} from "../../src/gen/redpanda/runtime/v1alpha1/message_pb.ts";

Deno.test("fromValue() keeps a plugin's __proto__ and constructor fields as own data", () => {
  const fields = Object.create(null);
  fields["__proto__"] = toValue({ polluted: true });
  fields["constructor"] = toValue("c");
  fields["toString"] = toValue(7);
  const value = create(ValueSchema, {
    kind: { case: "structValue", value: create(StructValueSchema, { fields }) },
  });
  const plain = fromValue(value) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(plain), Object.prototype);
  assert.deepEqual(Object.keys(plain), ["__proto__", "constructor", "toString"]);
  assert.equal(
    JSON.stringify(plain),
    '{"__proto__":{"polluted":true},"constructor":"c","toString":7}',
  );
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
