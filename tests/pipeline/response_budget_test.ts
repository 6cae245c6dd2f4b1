/**
 * `weighBatches()` (src/pipeline/response_budget.ts): counting and weighing
 * encoded batches before they are decoded.
 *
 * @module
 */
import assert from "node:assert/strict";
import { create, toBinary } from "../../src/npm/protobuf.ts";
import {
  MessageBatchSchema,
  type Value,
  ValueSchema,
} from "../../src/gen/redpanda/runtime/v1alpha1/message_pb.ts";
import { NODE_BYTES, weighBatches } from "../../src/pipeline/response_budget.ts";

const MIB = 1024 * 1024;

function batch(messages: Parameters<typeof create<typeof MessageBatchSchema>>[1]): Uint8Array {
  return toBinary(MessageBatchSchema, create(MessageBatchSchema, messages));
}

function nested(depth: number): Value {
  let value = create(ValueSchema, { kind: { case: "stringValue", value: "leaf" } });
  for (let i = 0; i < depth; i++) {
    value = create(ValueSchema, { kind: { case: "listValue", value: { values: [value] } } });
  }
  return value;
}

Deno.test("weighBatches() counts the messages of every batch, and refuses past the count", () => {
  const three = batch({ messages: [{}, {}, {}] });
  const two = batch({ messages: [{}, {}] });
  const fits = weighBatches([three, two], 5, MIB);
  assert.ok(fits.ok);
  assert.equal(fits.messages, 5);
  assert.equal(fits.bytes, 2 * NODE_BYTES + 5 * NODE_BYTES);
  const over = weighBatches([three, two], 4, MIB);
  assert.deepEqual(over, { ok: false, over: "messages", messages: 5, detail: "5 messages" });
});

Deno.test("weighBatches() adds up payload, metadata and structured values, and refuses past the bytes", () => {
  const encoded = batch({
    messages: [
      { payload: { case: "bytes", value: new Uint8Array(1000) } },
      {
        payload: { case: "structured", value: nested(3) },
        metadata: {
          fields: { key: create(ValueSchema, { kind: { case: "stringValue", value: "v" } }) },
        },
      },
    ],
  });
  const weight = weighBatches([encoded], 10, MIB);
  assert.ok(weight.ok);
  // objects: the batch; message 1 and its payload; message 2, 4 values and 3 lists, the leaf
  // string, metadata struct, its entry, value and string: 16; bytes: 1000 + "leaf" + "key" + "v"
  const expected = 16 * NODE_BYTES + 1000 + 4 + 3 + 1;
  assert.equal(weight.bytes, expected);
  const over = weighBatches([encoded], 10, 1000);
  assert.equal(over.ok, false);
  assert.equal(!over.ok && over.over, "bytes");
});

Deno.test("weighBatches() refuses malformed batches and values nested too deep, without throwing", () => {
  const truncated = batch({ messages: [{ payload: { case: "bytes", value: new Uint8Array(10) } }] })
    .subarray(0, 5);
  const cut = weighBatches([truncated], 10, MIB);
  assert.equal(!cut.ok && cut.over, "malformed");
  const deep = batch({ messages: [{ payload: { case: "structured", value: nested(100) } }] });
  const weight = weighBatches([deep], 10, MIB);
  assert.equal(!weight.ok && weight.over, "malformed");
  assert.match(!weight.ok ? weight.detail : "", /nested deeper than 64/);
});
