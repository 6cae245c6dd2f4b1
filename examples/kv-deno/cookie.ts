/**
 * The KV application's magic cookie, shared by its plugins in Go
 * (`examples/kv-go/kv/kv.go`), Python (`examples/kv-python/kv_plugin.py`) and
 * Deno (`plugin.ts`), and by its hosts.
 *
 * @module
 */
import type { MagicCookie } from "../../plugin.ts";

/** `BULKHEAD_KV_PLUGIN=kv-3f9c2e61-interop`: a KV plugin runs only when it is set. */
export const KV_COOKIE: MagicCookie = {
  key: "BULKHEAD_KV_PLUGIN",
  value: "kv-3f9c2e61-interop",
};
