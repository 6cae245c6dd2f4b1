/**
 * Run by `native_test.ts` with `--v8-flags=--expose-gc`: breaks out of a
 * server stream read through a typed client (whose iterable has no
 * `return()`), collects garbage, and prints the code the server's handler
 * saw its signal abort with, or `none`.
 *
 * @module
 */
import { Code, ConnectError, createClient } from "../../../src/npm/connect.ts";
import { GRPCStdio, StdioData_Channel } from "../../../src/gen/plugin/grpc_stdio_pb.ts";
import { nativeConnector } from "../../../src/transport/h2/native.ts";
import { aborted, register, sleep, socketDir } from "./_helpers.ts";

await using dir = await socketDir();
let serverAborted!: (reason: unknown) => void;
const reason = new Promise((resolve) => serverAborted = resolve);
await using _server = await nativeConnector.listen(dir.path, [
  register(GRPCStdio, {
    async *streamStdio(_request, ctx) {
      yield { channel: StdioData_Channel.STDOUT, data: new Uint8Array([1]) };
      await aborted(ctx.signal);
      serverAborted(ctx.signal.reason);
    },
  }),
]);
await using channel = nativeConnector.dial(dir.path);
const stdio = createClient(GRPCStdio, channel.transport);
await (async () => {
  for await (const _ of stdio.streamStdio({})) break;
})();
const gc = (globalThis as { gc?: () => void }).gc!;
let seen: unknown = "none";
for (let i = 0; i < 50 && seen === "none"; i++) {
  gc();
  seen = await Promise.race([reason, sleep(20).then(() => "none")]);
}
console.log(seen instanceof ConnectError ? Code[seen.code] : String(seen));
