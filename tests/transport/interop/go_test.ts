import { interop } from "./_interop.ts";
import { buildGo, named, noGo } from "./peers.ts";

Deno.test({
  name: named("native transport interoperates with grpc-go both ways", noGo),
  ignore: noGo !== undefined,
  async fn(t) {
    await using peer = await buildGo();
    await interop(t, peer, "grpc-go");
  },
});
