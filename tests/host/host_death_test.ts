import assert from "node:assert/strict";
import { exists, isAlive, waitFor } from "../_helpers.ts";
import { readLines } from "../../src/host/lines.ts";

const fixtures = new URL("../fixtures/", import.meta.url);

function runHost(script: string, args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(script, fixtures).href, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { RUST_BACKTRACE: "0" },
  }).spawn();
  return child;
}

/** Every live process whose process group is one of `groups`. */
function groupMembers(groups: number[]): number[] {
  const members: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] !== "Z" && groups.includes(Number(fields[2]))) members.push(Number(entry.name));
    } catch {
      // gone meanwhile
    }
  }
  return members;
}

Deno.test("no plugin, Deno or not, nor its children, nor its socket, outlives a SIGKILLed host by 2 s", async (t) => {
  for (let round = 1; round <= 3; round++) {
    await t.step(`round ${round}`, async () => {
      const host = runHost("orphan_host.ts", ["2"]);
      const lines = readLines(host.stdout);
      const first = await lines.next();
      const { pids: plugins, socketDirs } = JSON.parse(String(first.value)) as {
        pids: number[];
        socketDirs: string[];
      };
      assert.ok(socketDirs.every(exists));
      assert.equal(plugins.length, 3);
      // the sh plugin's sleep and Deno children start a moment after its handshake
      await waitFor(() => groupMembers(plugins).length >= 5, 5000);
      const pids = groupMembers(plugins);
      assert.ok(pids.length >= 5, `expected plugins and grandchildren, got ${pids}`);
      assert.ok(pids.every(isAlive));
      host.kill("SIGKILL");
      await host.status;
      const gone = await waitFor(() => !pids.some(isAlive), 2000);
      const survivors = pids.filter(isAlive).map((pid) =>
        `${pid} ${Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ")}`
      );
      for (const pid of pids.filter(isAlive)) Deno.kill(pid, "SIGKILL");
      assert.ok(gone, `still alive 2 s after their host died:\n${survivors.join("\n")}`);
      const removed = await waitFor(() => !socketDirs.some(exists), 2000);
      const left = socketDirs.filter(exists);
      for (const dir of left) Deno.removeSync(dir, { recursive: true });
      assert.ok(removed, `socket directories left 2 s after their host died: ${left.join(", ")}`);
      await lines.return(undefined);
      await host.stderr.cancel();
    });
  }
});

Deno.test("a plugin that sends GOAWAY on its own does not take the host down", async (t) => {
  for (const transport of ["native", "node-http2"]) {
    await t.step(transport, async () => {
      const host = runHost("goaway_host.ts", ["10", transport]);
      const [status, stdout, stderr] = await Promise.all([
        host.status,
        new Response(host.stdout).text(),
        new Response(host.stderr).text(),
      ]);
      assert.equal(status.signal, null, `host died by ${status.signal}: ${stderr.slice(-2000)}`);
      assert.equal(status.code, 0, stderr.slice(-2000));
      assert.match(stdout, /survived 10/);
    });
  }
});
