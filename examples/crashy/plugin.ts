/**
 * A batch processor plugin that upper-cases messages and really crashes:
 * it segfaults on every `every`-th message it sees (counted from its start)
 * and on any message containing `poison`, both from its configuration.
 * A Bulkhead pipeline restarts it and sends the batch again, so every
 * message still arrives; a poison message ends in the dead-letter output.
 *
 * Needs the `unsafe_ffi` grant: `Deno.kill(Deno.pid, "SIGSEGV")` does not
 * kill Deno 2.9 (V8's handler ignores a SIGSEGV sent by kill), so it reads
 * address 8 through FFI, a real segmentation fault.
 *
 * @module
 */
import { serveProcessor } from "../../plugin.ts";

let every = 0;
let poison: string | undefined;
let seen = 0;

function segfault(): never {
  new Deno.UnsafePointerView(Deno.UnsafePointer.create(8n)!).getUint8();
  throw new Error("survived a read of address 8");
}

await serveProcessor((batch) => {
  for (const message of batch) {
    const text = message.text;
    if (poison !== undefined && text.includes(poison)) segfault();
    if (every > 0 && ++seen % every === 0) segfault();
    message.text = text.toUpperCase();
  }
}, {
  init(config) {
    const options = (config ?? {}) as { every?: number; poison?: string };
    every = options.every ?? 0;
    poison = options.poison;
  },
});
