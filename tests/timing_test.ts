import assert from "node:assert/strict";
import {
  ABORTED,
  deadline,
  orAborted,
  settledOrAborted,
  settledWithin,
  sleep,
} from "../src/_timing.ts";

Deno.test("sleep() ends early when its signal aborts, and says so", async () => {
  assert.equal(await sleep(1), true);
  const controller = new AbortController();
  const sleeping = sleep(60_000, controller.signal);
  controller.abort();
  assert.equal(await sleeping, false);
  assert.equal(await sleep(60_000, AbortSignal.abort()), false);
});

Deno.test("orAborted() gives the value, ABORTED, or the rejection", async () => {
  const never = new Promise<number>(() => {});
  assert.equal(await orAborted(Promise.resolve(7), new AbortController().signal), 7);
  const controller = new AbortController();
  const waiting = orAborted(never, controller.signal);
  controller.abort();
  assert.equal(await waiting, ABORTED);
  await assert.rejects(orAborted(Promise.reject(new Error("no")), new AbortController().signal));
});

Deno.test("settledOrAborted() and settledWithin() never reject and clear their timers", async () => {
  await settledOrAborted(Promise.reject(new Error("gone")), new AbortController().signal);
  assert.equal(await settledWithin(Promise.reject(new Error("gone")), 60_000), true);
  assert.equal(await settledWithin(new Promise(() => {}), 1), false);
  const grace = deadline(60_000);
  grace.clear();
  assert.equal(grace.signal.aborted, false);
});
