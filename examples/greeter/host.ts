/**
 * The greeter host: starts the greeter plugin in its own process, greets a
 * few names through a typed client, checks its health, and stops it.
 *
 * Run: `deno task demo`
 *
 * @module
 */
import { Plugin } from "../../mod.ts";
import { GreeterService } from "../../src/gen/bulkhead/examples/greeter/v1/greeter_pb.ts";

const started = performance.now();
await using plugin = await Plugin.start({
  module: new URL("./plugin.ts", import.meta.url),
  name: "greeter",
});
const greeter = plugin.client(GreeterService);
const first = await greeter.greet({ name: "Ada" });
console.log(
  `${first.greeting}   (spawn → first answer: ${(performance.now() - started).toFixed(0)} ms)`,
);
for (const name of Deno.args.length > 0 ? Deno.args : ["Grace", "Linus"]) {
  console.log((await greeter.greet({ name })).greeting);
}
console.log(`plugin ${plugin.name} (pid ${plugin.pid}) is ${await plugin.health()}`);
const status = await plugin.stop();
console.log(
  `plugin stopped: exit code ${status.code}${status.signal ? `, signal ${status.signal}` : ""}`,
);
