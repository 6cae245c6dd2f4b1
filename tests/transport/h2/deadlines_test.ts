import assert from "node:assert/strict";
import { Deadlines, GRANULARITY_MS } from "../../../src/transport/h2/deadlines.ts";

function waitFor(deadlines: Deadlines, ms: number): Promise<number> {
  return new Promise((resolve) => deadlines.add({ onDeadline: () => resolve(Date.now()) }, ms));
}

Deno.test("Deadlines fire never early, each once", async () => {
  const deadlines = new Deadlines();
  const fired: number[] = [];
  await Promise.all([30, 5, 60, 5].map((ms, i) => {
    const added = Date.now();
    return new Promise<void>((resolve) =>
      deadlines.add({
        onDeadline() {
          fired.push(i);
          assert(Date.now() - added >= ms, `deadline ${i} (${ms} ms) fired early`);
          resolve();
        },
      }, ms)
    );
  }));
  assert.deepEqual(fired.sort(), [0, 1, 2, 3]);
  assert.deepEqual(deadlines.pending, 0);
});

Deno.test("a cancelled deadline never fires, and none pending leaves no timer", async () => {
  const deadlines = new Deadlines();
  let fired = false;
  const handler = { onDeadline: () => fired = true };
  const key = deadlines.add(handler, 10);
  deadlines.cancel(handler, key);
  deadlines.cancel(handler, key); // twice: a no-op
  assert.deepEqual(deadlines.pending, 0);
  // a later deadline still fires, after the cancelled one's time
  const at = await waitFor(deadlines, 2 * GRANULARITY_MS + 10);
  assert(at > 0);
  assert.deepEqual(fired, false);
  // the test's op sanitizer checks that no timer is left behind
});

Deno.test("cancelling the earliest deadline keeps the later ones", async () => {
  const deadlines = new Deadlines();
  const early = { onDeadline: () => assert.fail("cancelled deadline fired") };
  const key = deadlines.add(early, 5);
  const later = waitFor(deadlines, 40);
  deadlines.cancel(early, key);
  assert.deepEqual(deadlines.pending, 1);
  await later;
  assert.deepEqual(deadlines.pending, 0);
});
