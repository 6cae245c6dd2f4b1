/**
 * go-plugin's broker protocol, written once for both ends
 * (src/protocol/broker_endpoint.ts), driven by a scripted peer: knocks and
 * their acks, and the bounds a hostile peer runs into (announcements piled
 * up, a knock flood while it reads nothing). The ends over real processes
 * are tested in tests/plugin/broker_test.ts, broker_multiplex_test.ts and
 * tests/interop/.
 *
 * @module
 */
import assert from "node:assert/strict";
import { create } from "../../src/npm/protobuf.ts";
import { type ConnInfo, ConnInfoSchema } from "../../src/gen/plugin/grpc_broker_pb.ts";
import { BrokerAbuseError } from "../../src/protocol/broker_announcements.ts";
import { BrokerEndpoint } from "../../src/protocol/broker_endpoint.ts";

const knock = (id: number, ack = false, error = "") =>
  create(ConnInfoSchema, { serviceId: id, knock: { knock: true, ack, error } });

/** A peer's side of the stream, fed by hand. */
function peer(): { stream: AsyncIterable<ConnInfo>; push(info: ConnInfo): void; end(): void } {
  const queue: ConnInfo[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  return {
    push(info) {
      queue.push(info);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    stream: (async function* () {
      while (true) {
        const next = queue.shift();
        if (next !== undefined) yield next;
        else if (ended) return;
        else await new Promise<void>((resolve) => wake = resolve);
      }
    })(),
  };
}

Deno.test("BrokerEndpoint.knock() sends a knock and resolves on the peer's ack", async () => {
  const endpoint = new BrokerEndpoint();
  const abort = new AbortController();
  const sent = endpoint.outgoing(abort.signal);
  const from = peer();
  const receiving = endpoint.receive(from.stream);
  const knocked = endpoint.knock(7, { peer: "the host" });
  const first = (await sent.next()).value as ConnInfo;
  assert.deepEqual([first.serviceId, first.knock?.knock, first.knock?.ack], [7, true, false]);
  from.push(knock(7, true));
  await knocked;

  await expectRefusal(endpoint, sent, from);
  abort.abort();
  from.end();
  await receiving;
  await endpoint.close(new Error("done"));
});

async function expectRefusal(
  endpoint: BrokerEndpoint,
  sent: AsyncGenerator<ConnInfo>,
  from: ReturnType<typeof peer>,
): Promise<void> {
  const knocked = endpoint.knock(8, { peer: "the host" });
  await sent.next();
  from.push(knock(8, true, "no server for broker id 8"));
  await assert.rejects(knocked, /Cannot dial broker id 8 of the host: no server for broker id 8/);
}

Deno.test("BrokerEndpoint answers knocks with onKnock, and ignores them without it", async () => {
  const endpoint = new BrokerEndpoint();
  const abort = new AbortController();
  const sent = endpoint.outgoing(abort.signal);
  const from = peer();
  from.push(knock(3)); // ignored: not multiplexed
  from.end();
  await endpoint.receive(from.stream);
  endpoint.onKnock = (id) => id === 4 ? "" : `no server for broker id ${id}`;
  const again = peer();
  again.push(knock(4));
  again.push(knock(5));
  again.end();
  await endpoint.receive(again.stream);
  const acks = [(await sent.next()).value, (await sent.next()).value] as ConnInfo[];
  assert.deepEqual(
    acks.map((a) => [a.serviceId, a.knock?.ack, a.knock?.error]),
    [[4, true, ""], [5, true, "no server for broker id 5"]],
  );
  abort.abort();
  await endpoint.close(new Error("done"));
});

Deno.test("a knock flood from a peer that reads nothing is BrokerAbuseError, not memory", async () => {
  const endpoint = new BrokerEndpoint();
  endpoint.onKnock = () => "";
  const from = peer();
  for (let i = 0; i < 10_000; i++) from.push(knock(i + 1));
  from.end();
  await assert.rejects(
    endpoint.receive(from.stream),
    (error) =>
      error instanceof BrokerAbuseError &&
      /more than 256 broker messages unread/.test(error.message),
  );
  await endpoint.close(new Error("done"));
});

Deno.test("a knock waiting for its ack fails when the broker ends, and after its timeout", async () => {
  const endpoint = new BrokerEndpoint();
  const waiting = endpoint.knock(1, { peer: "the host", timeoutMs: 60_000 });
  const timed = endpoint.knock(2, { peer: "the host", timeoutMs: 10 });
  await assert.rejects(timed, /Cannot dial broker id 2 of the host: no answer within 10 ms/);
  await endpoint.close(new Error("Cannot use the broker: it has stopped"));
  await assert.rejects(waiting, /it has stopped/);
});

Deno.test("announcements past maxAnnouncements are BrokerAbuseError, through the endpoint", async () => {
  const endpoint = new BrokerEndpoint({ maxAnnouncements: 2 });
  const from = peer();
  for (let id = 1; id <= 3; id++) {
    from.push(create(ConnInfoSchema, { serviceId: id, network: "unix", address: `/x/${id}` }));
  }
  from.end();
  await assert.rejects(endpoint.receive(from.stream), BrokerAbuseError);
  await endpoint.close(new Error("done"));
});
