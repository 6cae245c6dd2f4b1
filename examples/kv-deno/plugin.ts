/**
 * The KV plugin in Deno: serves `bulkhead.examples.kv.v1.KvService` with the
 * SDK's `serve()`, under a Bulkhead host or a go-plugin host (see README.md
 * for the permissions a go-plugin host must grant it).
 *
 * @module
 */
import { serve, service } from "../../plugin.ts";
import { KvService } from "../../src/gen/bulkhead/examples/kv/v1/kv_pb.ts";
import { KV_COOKIE } from "./cookie.ts";

const values = new Map<string, string>();

await serve({
  cookie: KV_COOKIE,
  services: [
    service(KvService, {
      put(request) {
        values.set(request.key, request.value);
        console.error(`put ${request.key} (${request.value.length} bytes)`);
        return {};
      },
      get(request) {
        const value = values.get(request.key);
        return { value: value ?? "", found: value !== undefined };
      },
      list(request) {
        return { keys: [...values.keys()].filter((k) => k.startsWith(request.prefix)).sort() };
      },
    }),
  ],
});
