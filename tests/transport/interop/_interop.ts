/**
 * Runs every interop case both ways between a peer (grpc-go or grpcio) and
 * our native transport, one step per case.
 *
 * @module
 */
import assert from "node:assert/strict";
import { nativeConnector } from "../../../src/transport/h2/native.ts";
import { socketDir } from "../h2/_helpers.ts";
import { clientCases } from "./_client_cases.ts";
import { interopService } from "./_interop_service.ts";
import { CASES, type Peer, runClient, startServer } from "./peers.ts";

const LIMITS = { readMaxBytes: 64 << 20, writeMaxBytes: 64 << 20 };

/** Runs the cases with our client against the peer's server, then the peer's client against ours. */
export async function interop(t: Deno.TestContext, peer: Peer, name: string): Promise<void> {
  await t.step(`native client → ${name} server`, async (t) => {
    await using dir = await socketDir();
    await using _server = await startServer(peer, dir.path);
    await using channel = nativeConnector.dial(dir.path, LIMITS);
    for (const name of CASES) {
      await t.step(name, () => clientCases[name]!(channel.transport));
    }
  });
  await t.step(`${name} client → native server`, async (t) => {
    await using dir = await socketDir();
    await using _server = await nativeConnector.listen(dir.path, [interopService()], LIMITS);
    const results = await runClient(peer, dir.path);
    for (const name of CASES) {
      await t.step(name, () => {
        const result = results.get(name);
        assert.notEqual(result, undefined, `the ${name} case did not run`);
        assert.equal(result, "", result);
      });
    }
  });
}
