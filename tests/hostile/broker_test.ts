/**
 * Hostile plugins against the host's side of go-plugin's broker
 * (issue #11): announcements that pile up without being dialed, addresses
 * of a megabyte, and an announcement of the host's own brokered socket.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Plugin } from "../../mod.ts";
import { createClient } from "../../src/npm/connect.ts";
import { GreeterService } from "../../src/gen/bulkhead/examples/greeter/v1/greeter_pb.ts";
import { assertCleanedUp } from "../_helpers.ts";
import { BrokerAbuseError, BrokerAnnouncements } from "../../src/protocol/broker_announcements.ts";
import { create } from "../../src/npm/protobuf.ts";
import { ConnInfoSchema } from "../../src/gen/plugin/grpc_broker_pb.ts";
import {
  BROKER_HOST,
  BROKER_PLUGIN,
  Bystander,
  RSS_GROWTH_BOUND,
  rssBytes,
} from "./_h2_attacks.ts";
import { nativeConnector } from "../../src/transport/h2/native.ts";

interface HostReport {
  outcome: string;
  exitReason: string | null;
  rssBeforeMb: number;
  rssPeakMb: number;
  ms: number;
  bystanderOk: boolean;
}

/** Runs the attack against a host in a subprocess (whose heap is capped at 1 GiB). */
async function attackHost(mode: string): Promise<HostReport> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--max-old-space-size=1024", BROKER_HOST.pathname, mode],
    env: { RUST_BACKTRACE: "0" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, `the host died (code ${output.code}):\n${stderr.slice(-2000)}`);
  const lines = new TextDecoder().decode(output.stdout).trim().split("\n");
  return JSON.parse(lines.at(-1)!) as HostReport;
}

Deno.test("a plugin announcing broker ids with 1 MiB addresses is killed; the host lives", async () => {
  const report = await attackHost("flood");
  assert.match(
    report.exitReason ?? "",
    /killed by the host: announced a broker address of \d+ characters/,
  );
  assert.match(report.outcome, /killed|dial failed/);
  assert.ok(
    (report.rssPeakMb - report.rssBeforeMb) * 1024 * 1024 < RSS_GROWTH_BOUND,
    `host RSS ${report.rssBeforeMb} → ${report.rssPeakMb} MB`,
  );
  assert.ok(report.bystanderOk, "the bystander plugin stopped answering");
});

Deno.test("a plugin announcing broker ids nobody dials is killed past the cap; the host lives", async () => {
  const report = await attackHost("flood-small");
  assert.match(
    report.exitReason ?? "",
    /killed by the host: announced more than 16 broker connections without being dialed/,
  );
  assert.ok(
    (report.rssPeakMb - report.rssBeforeMb) * 1024 * 1024 < RSS_GROWTH_BOUND,
    `host RSS ${report.rssBeforeMb} → ${report.rssPeakMb} MB`,
  );
  assert.ok(report.bystanderOk, "the bystander plugin stopped answering");
});

Deno.test("Plugin.start({ maxBrokerAnnouncements }) sets the cap; the reason is in info() and the dial's error", async () => {
  const plugin = await Plugin.start({
    module: BROKER_PLUGIN,
    args: ["flood-small"],
    maxBrokerAnnouncements: 3,
    logger: () => {},
  });
  const socketDir = plugin.handshake.address.replace(/\/[^/]+$/, "");
  const error = await plugin.broker.dial(1).catch((e) => e);
  assert.ok(error instanceof Error);
  assert.match(error.message, /announced more than 3 broker connections without being dialed/);
  await plugin.exited;
  assert.match(
    plugin.info().exitReason ?? "",
    /^killed by the host: announced more than 3 broker connections without being dialed/,
  );
  await plugin.stop();
  assertCleanedUp(plugin.pid, socketDir);
});

Deno.test("a plugin announcing the host's own brokered socket: the host refuses to dial itself", async () => {
  await using bystander = await Bystander.start();
  await using plugin = await Plugin.start({
    module: BROKER_PLUGIN,
    args: ["self"],
    brokerSockets: 1,
    logger: () => {},
  });
  const id = plugin.broker.nextId();
  await using server = await plugin.broker.serve(id, [{
    service: GreeterService,
    implementation: { greet: () => ({ greeting: "the host answered itself" }) },
  }]);
  const error = await plugin.broker.dial(id + 1000).then(
    async (channel) => {
      // what the attack wants: the host's own service, reached through the host
      const reply = await createClient(GreeterService, channel.transport).greet({});
      await channel.close();
      return reply.greeting;
    },
    (e) => e,
  );
  assert.ok(error instanceof Error, `the host dialed itself: ${error}`);
  assert.match(error.message, /Cannot dial broker id 1001 .*the host's own brokered socket/);
  assert.match(error.message, new RegExp(server.path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  await bystander.greet();
  assert.equal(plugin.state, "ready");
});

Deno.test("BrokerAnnouncements bounds what a peer can make it hold, for host and SDK alike", () => {
  const info = (serviceId: number, address: string) =>
    create(ConnInfoSchema, { serviceId, network: "unix", address });
  const announcements = new BrokerAnnouncements(2);
  announcements.announce(info(1, "/d/a.sock"));
  announcements.announce(info(2, "/d/b.sock"));
  announcements.announce(info(2, "/d/c.sock")); // the same id again replaces, not adds
  assert.throws(() => announcements.announce(info(3, "/d/d.sock")), BrokerAbuseError);
  assert.throws(
    () => new BrokerAnnouncements().announce(info(1, `/${"a".repeat(600)}`)),
    /announced a broker address of 605 characters \(at most 512\)/,
  );
});

Deno.test("a plugin flooding the host's brokered server with streams is cut off; the server serves on", async () => {
  let ended!: (line: string) => void;
  const attackEnded = new Promise<string>((resolve) => ended = resolve);
  await using plugin = await Plugin.start({
    module: BROKER_PLUGIN,
    args: ["dial-flood"],
    brokerSockets: 1,
    logger: (record) => {
      if (record.message.startsWith("attack ended: ")) ended(record.message);
    },
  });
  const before = rssBytes();
  await using server = await plugin.broker.serve(plugin.broker.nextId(), [{
    service: GreeterService,
    implementation: { greet: (r: { name: string }) => ({ greeting: `Hello, ${r.name}!` }) },
  }]);
  const outcome = await attackEnded;
  // 11 is ENHANCE_YOUR_CALM
  assert.match(outcome, /GOAWAY code 11 \(Too many stream errors from the peer\)/);
  assert.ok(rssBytes() - before < RSS_GROWTH_BOUND);
  await using channel = nativeConnector.dial(server.path);
  const reply = await createClient(GreeterService, channel.transport).greet({ name: "host" });
  assert.equal(reply.greeting, "Hello, host!");
});
