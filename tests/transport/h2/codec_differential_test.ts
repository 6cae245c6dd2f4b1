/**
 * The compiled codec against protobuf-es: for every message type in
 * `src/gen/` and the test types of `_codec_schemas.ts`, seeded random
 * messages encode to the same bytes and decode to equal messages; merged
 * encodings and packed/unpacked twins read the same; hostile input
 * (truncations, bad lengths, wrong wire types, mutations) is an error or
 * the message protobuf-es reads, never a hang or a crash. A failure names
 * its seed; `CODEC_SEED=n` replays it.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type DescMessage,
  fromBinary,
  type MessageShape,
  toBinary,
} from "../../../src/npm/protobuf.ts";
import { codecFor } from "../../../src/transport/h2/codec.ts";
import { compilable } from "../../../src/transport/h2/codec_support.ts";
import { encodeCompiled } from "../../../src/transport/h2/codec_encode.ts";
import { CodecError, decodeCompiled } from "../../../src/transport/h2/codec_decode.ts";
import {
  AllSchema,
  EmptySchema,
  LeafSchema,
  LegacySchema,
  PackedSchema,
  UnpackedSchema,
} from "./_codec_schemas.ts";
import { Random, randomMessage } from "./_codec_random.ts";

const compiled = codecFor("compiled");
const SEED = Number(Deno.env.get("CODEC_SEED") ?? Date.now() % 2 ** 31);

async function generatedSchemas(): Promise<DescMessage[]> {
  const out: DescMessage[] = [];
  const root = new URL("../../../src/gen/", import.meta.url);
  async function walk(dir: URL): Promise<void> {
    for await (const entry of Deno.readDir(dir)) {
      const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
      if (entry.isDirectory) await walk(url);
      else if (entry.name.endsWith("_pb.ts")) {
        for (const value of Object.values(await import(url.href))) {
          if ((value as { kind?: string }).kind === "message") out.push(value as DescMessage);
        }
      }
    }
  }
  await walk(root);
  return out;
}

function withSeed(seed: number, what: string, check: () => void): void {
  try {
    check();
  } catch (error) {
    throw new Error(`${what} failed with CODEC_SEED=${seed}`, { cause: error });
  }
}

/** Encodes with both codecs, compares bytes; decodes the bytes with both, compares messages. */
function roundTrip(desc: DescMessage, message: MessageShape<DescMessage>): Uint8Array {
  const expected = toBinary(desc, message);
  assert.deepStrictEqual(compiled.encode(desc, message), expected);
  const decoded = compiled.decode(desc, expected);
  assert.deepStrictEqual(decoded, fromBinary(desc, expected));
  assert.deepStrictEqual(toBinary(desc, decoded), expected);
  return expected;
}

/** Compiled decoding of possibly hostile bytes: a CodecError, or what protobuf-es reads. */
function decodeHostile(desc: DescMessage, bytes: Uint8Array): void {
  let mine: unknown;
  try {
    mine = decodeCompiled(desc, bytes);
  } catch (error) {
    assert.ok(error instanceof CodecError, `not a CodecError: ${error}`);
    return;
  }
  assert.deepStrictEqual(mine, fromBinary(desc, bytes));
}

Deno.test("the compiled codec covers proto3 types and leaves proto2 to protobuf-es", () => {
  assert.ok(compilable(AllSchema));
  assert.ok(compilable(LeafSchema));
  assert.ok(!compilable(LegacySchema));
});

Deno.test("compiled codec: every generated message type round-trips as protobuf-es does", async () => {
  const schemas = await generatedSchemas();
  assert.ok(schemas.length > 30, `only ${schemas.length} generated message types found`);
  for (let i = 0; i < schemas.length; i++) {
    const desc = schemas[i]!;
    const seed = (SEED + i) >>> 0;
    const r = new Random(seed);
    withSeed(seed, desc.typeName, () => {
      for (let n = 0; n < 20; n++) roundTrip(desc, randomMessage(r, desc) as never);
    });
  }
});

Deno.test("compiled codec: random test messages round-trip as protobuf-es does", async (t) => {
  for (
    const desc of [AllSchema, LeafSchema, PackedSchema, UnpackedSchema, EmptySchema, LegacySchema]
  ) {
    await t.step(desc.typeName, () => {
      const r = new Random(SEED);
      withSeed(SEED, desc.typeName, () => {
        for (let n = 0; n < 150; n++) {
          const message = randomMessage(r, desc);
          if (desc === LegacySchema) {
            message.id = 1; // Required.
            // A closed enum's unknown value moves to $unknown, so re-encoding reorders it.
            if (Object.hasOwn(message, "mood")) message.mood = 2;
          }
          roundTrip(desc, message as never);
        }
      });
    });
  }
});

Deno.test("compiled codec: concatenated encodings merge as protobuf-es merges them", () => {
  const r = new Random(SEED);
  withSeed(SEED, "merge", () => {
    for (let n = 0; n < 100; n++) {
      const a = toBinary(AllSchema, randomMessage(r, AllSchema) as never);
      const b = toBinary(AllSchema, randomMessage(r, AllSchema) as never);
      const both = new Uint8Array([...a, ...b]);
      assert.deepStrictEqual(compiled.decode(AllSchema, both), fromBinary(AllSchema, both));
    }
  });
});

Deno.test("compiled codec: packed and unpacked encodings read the same", () => {
  const r = new Random(SEED);
  withSeed(SEED, "packing", () => {
    for (let n = 0; n < 100; n++) {
      const packed = toBinary(PackedSchema, randomMessage(r, PackedSchema) as never);
      const unpacked = toBinary(UnpackedSchema, randomMessage(r, UnpackedSchema) as never);
      assert.deepStrictEqual(
        compiled.decode(UnpackedSchema, packed),
        fromBinary(UnpackedSchema, packed),
      );
      assert.deepStrictEqual(
        compiled.decode(PackedSchema, unpacked),
        fromBinary(PackedSchema, unpacked),
      );
    }
  });
});

Deno.test("compiled codec: values protobuf-es rejects or coerces go to protobuf-es", () => {
  const message = randomMessage(new Random(1), LeafSchema);
  message.number = 2 ** 40; // Not an int32: protobuf-es throws.
  assert.throws(() => compiled.encode(LeafSchema, message as never), /int32/);
  message.number = 5;
  message.text = 42; // Not a string: protobuf-es writes "42".
  assert.deepStrictEqual(
    compiled.encode(LeafSchema, message as never),
    toBinary(LeafSchema, message as never),
  );
  const foreign = { ...message, $typeName: "other.Type" };
  assert.throws(() => compiled.encode(LeafSchema, foreign as never));
  assert.equal(compiled.prepare(LeafSchema, message as never), undefined);
});

Deno.test("compiled codec: prepare() and writePrepared() write toBinary's bytes at an offset", () => {
  const r = new Random(SEED);
  withSeed(SEED, "prepare", () => {
    for (let n = 0; n < 50; n++) {
      const message = randomMessage(r, AllSchema);
      const expected = toBinary(AllSchema, message as never);
      const size = compiled.prepare(AllSchema, message as never);
      assert.equal(size, expected.length);
      const out = new Uint8Array(size! + 7).fill(0xee);
      compiled.writePrepared(out, 5);
      assert.deepStrictEqual(out.subarray(5, 5 + size!), expected);
      assert.deepStrictEqual(
        [...out.subarray(0, 5), ...out.subarray(5 + size!)],
        Array(7).fill(0xee),
      );
    }
  });
  assert.throws(() => compiled.writePrepared(new Uint8Array(10), 0)); // Nothing prepared.
});

Deno.test("compiled codec: hostile input is an error or what protobuf-es reads", async (t) => {
  const leaf = (bytes: number[]) => new Uint8Array(bytes);
  await t.step("named cases fail with CodecError", () => {
    const cases: [string, number[]][] = [
      ["truncated varint", [0x10, 0x80]],
      ["varint of 11 bytes", [
        0x10,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0x01,
      ]],
      ["length past the end", [0x0a, 0x05, 0x61]],
      ["huge length", [0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f]],
      ["wrong wire type for a string", [0x08, 0x01]],
      ["wrong wire type for a message", [0x20, 0x01]],
      ["field number 0", [0x00, 0x01]],
      ["wire type 6", [0x0e]],
      ["wire type 7", [0x0f]],
      ["end group without a start", [0x0c]],
      ["unterminated group", [0x2b, 0x08, 0x01]],
      ["truncated fixed64", [0x29, 0x01, 0x02]],
      ["invalid UTF-8", [0x0a, 0x02, 0xc3, 0x28]],
      ["tag over 32 bits", [0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
    ];
    for (const [name, bytes] of cases) {
      assert.throws(() => decodeCompiled(LeafSchema, leaf(bytes)), CodecError, name);
      assert.throws(() => compiled.decode(LeafSchema, leaf(bytes)), CodecError, name);
    }
  });
  await t.step("nesting past 100 fails with CodecError", () => {
    let bytes = new Uint8Array(0);
    for (let i = 0; i < 120; i++) {
      bytes = new Uint8Array([0x22, ...lengthBytes(bytes.length), ...bytes]);
    }
    assert.throws(() => decodeCompiled(LeafSchema, bytes), CodecError);
    assert.throws(() => fromBinary(LeafSchema, bytes));
  });
  await t.step("every truncation and random mutations of random messages", () => {
    const r = new Random(SEED);
    withSeed(SEED, "hostile", () => {
      for (let n = 0; n < 40; n++) {
        const bytes = toBinary(AllSchema, randomMessage(r, AllSchema) as never);
        for (let cut = 0; cut < bytes.length; cut += 1 + r.int(8)) {
          decodeHostile(AllSchema, bytes.subarray(0, cut));
        }
        for (let m = 0; m < 30 && bytes.length > 0; m++) {
          const copy = bytes.slice();
          for (let k = 1 + r.int(3); k > 0; k--) copy[r.int(copy.length)] = r.int(256);
          decodeHostile(AllSchema, copy);
        }
      }
    });
  });
});

function lengthBytes(n: number): number[] {
  const out = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

Deno.test("the protobuf-es codec is protobuf-es", () => {
  const codec = codecFor("protobuf-es");
  const message = randomMessage(new Random(SEED), AllSchema);
  const bytes = codec.encode(AllSchema, message as never);
  assert.deepStrictEqual(bytes, toBinary(AllSchema, message as never));
  assert.deepStrictEqual(codec.decode(AllSchema, bytes), fromBinary(AllSchema, bytes));
  assert.throws(() => codecFor("fast" as never), TypeError);
  assert.ok(encodeCompiled(LeafSchema, fromBinary(LeafSchema, new Uint8Array(0))).length === 0);
});
