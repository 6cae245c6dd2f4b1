/**
 * A Deno plugin made with the SDK that uses go-plugin's GRPCBroker both
 * ways, the twin of `broker_plugin/main.go`: `AddViaBroker` dials a Counter
 * its host serves under a broker id and calls it `times` times;
 * `ServeCounter` serves a Counter of its own under a new broker id for the
 * host to dial. It speaks the KV application's handshake (cookie and
 * version), so go-plugin hosts of that application can start it.
 *
 * @module
 */
import { createClient } from "../../src/npm/connect.ts";
import { serve, service } from "../../plugin.ts";
import { Callbacks, Counter } from "../../src/gen/bulkhead/testing/v1/callback_pb.ts";
import { KV_COOKIE } from "../../examples/kv-deno/cookie.ts";

await serve({
  cookie: KV_COOKIE,
  services: ({ broker }) => [
    service(Callbacks, {
      async addViaBroker({ brokerId, delta, times }) {
        await using channel = await broker.dial(brokerId);
        const counter = createClient(Counter, channel.transport);
        let total = 0n;
        let servedBy = "";
        for (let i = 0; i < times; i++) {
          ({ total, servedBy } = await counter.add({ delta, caller: "deno-plugin" }));
        }
        console.error(`added via broker id ${brokerId}: total ${total}`);
        return { total, servedBy };
      },
      async serveCounter() {
        const id = broker.nextId();
        let total = 0n;
        await broker.serve(id, [
          service(Counter, {
            add: ({ delta }) => ({ total: total += delta, servedBy: "deno-plugin" }),
          }),
        ]);
        console.error(`serving a counter under broker id ${id}`);
        return { brokerId: id };
      },
    }),
  ],
});
