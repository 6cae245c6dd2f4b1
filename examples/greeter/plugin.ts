/**
 * The greeter plugin: a Deno plugin serving `GreeterService`.
 *
 * Started by its host (see `host.ts`); run by hand, it explains that it is a
 * plugin and exits with code 1.
 *
 * @module
 */
import { serve, service } from "../../plugin.ts";
import { GreeterService } from "../../src/gen/bulkhead/examples/greeter/v1/greeter_pb.ts";

await serve({
  services: [
    service(GreeterService, {
      greet(request) {
        const name = request.name.trim() || "stranger";
        return { greeting: `Hello, ${name}!` };
      },
    }),
  ],
});
