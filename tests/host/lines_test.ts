import assert from "node:assert/strict";
import { LineTail, MAX_LINE_CHARS, readLines } from "../../src/host/lines.ts";
import { toLogRecord } from "../../src/host/logger.ts";

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

Deno.test("readLines() joins lines split across chunks and keeps the last one", async () => {
  const lines = await Array.fromAsync(readLines(streamOf("ab", "c\nd\r", "\n\ne", "f")));
  assert.deepEqual(lines, ["abc", "d", "", "ef"]);
});

Deno.test("readLines() cuts a line that never ends", async () => {
  const lines = await Array.fromAsync(readLines(streamOf("x".repeat(MAX_LINE_CHARS * 2 + 5))));
  assert.deepEqual(lines.map((l) => l.length), [MAX_LINE_CHARS, MAX_LINE_CHARS, 5]);
});

Deno.test("readLines() decodes UTF-8 split across chunks", async () => {
  const bytes = new TextEncoder().encode("héllo\n");
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(bytes.slice(0, 2));
      c.enqueue(bytes.slice(2));
      c.close();
    },
  });
  assert.deepEqual(await Array.fromAsync(readLines(stream)), ["héllo"]);
});

Deno.test("LineTail keeps the last lines", () => {
  const tail = new LineTail(2);
  for (const l of ["a", "b", "c"]) tail.push(l);
  assert.deepEqual(tail.lines(), ["b", "c"]);
});

Deno.test("toLogRecord() keeps hclog levels and fields", async (t) => {
  await t.step("hclog JSON", () => {
    const r = toLogRecord(
      "kv",
      '{"@level":"debug","@message":"put","@module":"kv","@timestamp":"2026-01-01T00:00:00Z","key":"a"}',
      "stderr",
    );
    assert.equal(r.level, "debug");
    assert.equal(r.message, "put");
    assert.deepEqual(r.fields, { "@module": "kv", key: "a" });
  });
  await t.step("plain text", () => {
    assert.deepEqual(toLogRecord("kv", "{not json", "stderr"), {
      plugin: "kv",
      level: "info",
      message: "{not json",
      source: "stderr",
    });
  });
  await t.step("unknown level", () => {
    assert.equal(toLogRecord("kv", '{"@level":"loud","@message":"x"}', "stdio").level, "info");
  });
});
