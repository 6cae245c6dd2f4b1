import { interop } from "./_interop.ts";
import { buildPython, named, noPython } from "./peers.ts";

Deno.test({
  name: named("native transport interoperates with grpcio both ways", noPython),
  ignore: noPython !== undefined,
  async fn(t) {
    await using peer = await buildPython();
    await interop(t, peer, "grpcio");
  },
});
