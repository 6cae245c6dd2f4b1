import assert from "node:assert/strict";
import { AdaptiveLimit } from "../../src/host/adaptive_limit.ts";

Deno.test("AdaptiveLimit halves per crash, sends one call alone after it, grows by one per success", () => {
  const limit = new AdaptiveLimit();
  assert.equal(limit.limit, Infinity);
  limit.crashed(16);
  assert.equal(limit.limit, 1, "the restarted process gets one call alone");
  limit.succeeded();
  assert.equal(limit.limit, 9, "half of the 16 in flight, plus one");
  limit.crashed(3); // fewer were in flight than the limit allowed: half of those
  limit.succeeded();
  assert.equal(limit.limit, 2);
  limit.crashed(2);
  limit.crashed(1);
  assert.equal(limit.limit, 1);
  limit.succeeded();
  assert.equal(limit.limit, 2, "never below one");
  for (let i = 0; i < 10; i++) limit.succeeded();
  assert.equal(limit.limit, 12);
  assert.ok(limit.admits(11) && !limit.admits(12));
});
