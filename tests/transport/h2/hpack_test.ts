import assert from "node:assert/strict";
import { OutputBuffer } from "../../../src/transport/h2/frame.ts";
import { HpackError } from "../../../src/transport/h2/hpack.ts";
import { HpackDecoder } from "../../../src/transport/h2/hpack_decoder.ts";
import { HpackEncoder } from "../../../src/transport/h2/hpack_encoder.ts";
import { huffmanDecode, huffmanEncode, HuffmanError } from "../../../src/transport/h2/huffman.ts";

function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  return new Uint8Array(clean.match(/../g)!.map((b) => parseInt(b, 16)));
}

const DATE_1 = "Mon, 21 Oct 2013 20:13:21 GMT";
const DATE_2 = "Mon, 21 Oct 2013 20:13:22 GMT";
const COOKIE = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
const REQUEST_1 = [
  ":method",
  "GET",
  ":scheme",
  "http",
  ":path",
  "/",
  ":authority",
  "www.example.com",
];
const REQUEST_2 = [...REQUEST_1, "cache-control", "no-cache"];
const REQUEST_3 = [
  ":method",
  "GET",
  ":scheme",
  "https",
  ":path",
  "/index.html",
  ":authority",
  "www.example.com",
  "custom-key",
  "custom-value",
]; // deno-fmt-ignore
const RESPONSE_1 = [
  ":status", "302", "cache-control", "private", "date", DATE_1,
  "location", "https://www.example.com",
]; // deno-fmt-ignore
const RESPONSE_2 = [...RESPONSE_1];
RESPONSE_2[1] = "307";
const RESPONSE_3 = [
  ":status",
  "200",
  "cache-control",
  "private",
  "date",
  DATE_2,
  "location",
  "https://www.example.com",
  "content-encoding",
  "gzip",
  "set-cookie",
  COOKIE,
]; // deno-fmt-ignore

/** RFC 7541 Appendix C: [section, block, fields, table size after]. */
const REQUESTS_PLAIN: [string, string, string[], number][] = [
  ["C.3.1", "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", REQUEST_1, 57],
  ["C.3.2", "8286 84be 5808 6e6f 2d63 6163 6865", REQUEST_2, 110],
  [
    "C.3.3",
    "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
    REQUEST_3,
    164,
  ],
];
const REQUESTS_HUFFMAN: [string, string, string[], number][] = [
  ["C.4.1", "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", REQUEST_1, 57],
  ["C.4.2", "8286 84be 5886 a8eb 1064 9cbf", REQUEST_2, 110],
  ["C.4.3", "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf", REQUEST_3, 164],
];
const RESPONSES_PLAIN: [string, string, string[], number][] = [
  [
    "C.5.1",
    `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
     2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
     6c65 2e63 6f6d`,
    RESPONSE_1,
    222,
  ],
  ["C.5.2", "4803 3330 37c1 c0bf", RESPONSE_2, 222],
  [
    "C.5.3",
    `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
     54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
     5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
     3d31`,
    RESPONSE_3,
    215,
  ],
];
const RESPONSES_HUFFMAN: [string, string, string[], number][] = [
  [
    "C.6.1",
    `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
     2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
    RESPONSE_1,
    222,
  ],
  ["C.6.2", "4883 640e ffc1 c0bf", RESPONSE_2, 222],
  [
    "C.6.3",
    `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
     77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
     9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
    RESPONSE_3,
    215,
  ],
];

Deno.test("HpackDecoder decodes the RFC 7541 Appendix C examples", async (t) => {
  for (
    const [name, examples, tableSize] of [
      ["requests without Huffman (C.3)", REQUESTS_PLAIN, 4096],
      ["requests with Huffman (C.4)", REQUESTS_HUFFMAN, 4096],
      ["responses without Huffman, evicting (C.5)", RESPONSES_PLAIN, 256],
      ["responses with Huffman, evicting (C.6)", RESPONSES_HUFFMAN, 256],
    ] as const
  ) {
    await t.step(name, () => {
      const decoder = new HpackDecoder(tableSize);
      for (const [section, block, fields, size] of examples) {
        assert.deepEqual(decoder.decode(hex(block)), fields, section);
        assert.equal(decoder.tableSize, size, `${section} table size`);
      }
    });
  }
});

Deno.test("HpackEncoder reproduces the RFC 7541 request examples", async (t) => {
  for (
    const [name, examples, huffman] of [
      ["without Huffman (C.3)", REQUESTS_PLAIN, false],
      ["with Huffman (C.4)", REQUESTS_HUFFMAN, true],
    ] as const
  ) {
    await t.step(name, () => {
      const encoder = new HpackEncoder({ huffman });
      for (const [section, block, fields] of examples) {
        const out = new OutputBuffer(16);
        encoder.encode(fields, out);
        assert.deepEqual(out.bytes(), hex(block), section);
      }
    });
  }
});

Deno.test("hpack decodes a Huffman-coded header", () => {
  assert.equal(huffmanDecode(hex("f1e3 c2e5 f23a 6ba0 ab90 f4ff")), "www.example.com");
  const out = new Uint8Array(64);
  const text = "custom-value \u00ff\u0000~";
  const end = huffmanEncode(text, out, 0);
  assert.equal(huffmanDecode(out.subarray(0, end)), text);
});

Deno.test("huffmanDecode() rejects bad padding and EOS", async (t) => {
  await t.step("padding with a zero bit", () => {
    assert.throws(() => huffmanDecode(hex("f1e3 c2e5 f23a 6ba0 ab90 f4fe")), HuffmanError);
  });
  await t.step("padding of 8 bits or more", () => {
    assert.throws(() => huffmanDecode(hex("f1e3 c2e5 f23a 6ba0 ab90 f4ff ff")), HuffmanError);
  });
  await t.step("EOS symbol", () => {
    assert.throws(() => huffmanDecode(hex("ffff fffc")), HuffmanError);
  });
});

Deno.test("HpackEncoder and HpackDecoder round-trip and stay in sync", () => {
  const encoder = new HpackEncoder();
  const decoder = new HpackDecoder();
  for (let i = 0; i < 500; i++) {
    const fields = [
      ":path",
      `/svc/M${i % 7}`,
      "grpc-timeout",
      `${i}m`,
      "x-long",
      "v".repeat(i % 300),
      "authorization",
      "secret",
      `x-n${i % 50}`,
      String(i),
    ]; // deno-fmt-ignore
    const out = new OutputBuffer(8);
    encoder.encode(fields, out);
    assert.deepEqual(decoder.decode(out.bytes().slice()), fields);
  }
});

Deno.test("HpackEncoder signals a smaller peer table size", () => {
  const encoder = new HpackEncoder();
  const decoder = new HpackDecoder(100);
  encoder.setMaxTableSize(100);
  const fields = ["x-a", "1".repeat(10), "x-b", "2"];
  for (let i = 0; i < 3; i++) {
    const out = new OutputBuffer(8);
    encoder.encode(fields, out);
    assert.deepEqual(decoder.decode(out.bytes().slice()), fields);
  }
  assert.ok(decoder.tableSize <= 100);
});

Deno.test("HpackDecoder rejects malformed blocks", async (t) => {
  const cases: [string, string][] = [
    ["index 0", "80"],
    ["index past the table", "be"],
    ["truncated string", "400a 6375"],
    ["truncated integer", "7f"],
    ["oversized integer", "7fff ffff ffff 7f"],
    ["table size update above the limit", "3fe2 1f"],
    ["table size update after a field", "82 20"],
  ];
  for (const [name, block] of cases) {
    await t.step(name, () => {
      assert.throws(() => new HpackDecoder().decode(hex(block)), HpackError);
    });
  }
});

Deno.test("HpackDecoder returns null for a header list over the limit, keeping its table", () => {
  const decoder = new HpackDecoder();
  assert.equal(decoder.decode(hex(REQUESTS_PLAIN[0]![1]), 100), null);
  assert.equal(decoder.tableSize, 57);
  assert.deepEqual(decoder.decode(hex(REQUESTS_PLAIN[1]![1])), REQUEST_2);
});

Deno.test("HpackEncoder reuses a frozen list's encoding only while the table is unchanged", () => {
  const encoder = new HpackEncoder();
  const decoder = new HpackDecoder(4096);
  const frozen = Object.freeze([":path", "/svc/Method", "content-type", "application/grpc"]);
  const encode = (fields: string[]) => {
    const out = new OutputBuffer(8);
    encoder.encode(fields, out);
    return out.bytes().slice();
  };
  // Interleaves the frozen list with lists that insert, evict and resize the table.
  for (let i = 0; i < 300; i++) {
    assert.deepEqual(decoder.decode(encode(frozen as string[])), frozen);
    assert.deepEqual(decoder.decode(encode(frozen as string[])), frozen);
    if (i % 3 === 0) {
      const other = [`x-n${i}`, "v".repeat(i % 200)];
      assert.deepEqual(decoder.decode(encode(other)), other);
    }
    if (i === 150) encoder.setMaxTableSize(200);
  }
  // Steady state: the reused encoding is what encoding a copy of the list gives.
  const a = encode(frozen as string[]);
  const b = encode([...frozen]);
  assert.deepEqual(a, b);
  assert.deepEqual(decoder.decode(a), frozen);
  assert.deepEqual(decoder.decode(b), frozen);
});
