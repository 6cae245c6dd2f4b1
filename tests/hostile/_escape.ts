/**
 * The setting for tests/hostile/fixtures/escape_exec.py: a secret beside the
 * host, a directory outside its grant, a granted one for its report, a TCP
 * listener on 127.0.0.1 that counts connections, another plugin whose socket
 * it tries; and the process-tree helpers that see its processes from the
 * host's side.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { FIXTURE, PYTHON } from "../_helpers.ts";
import { Plugin, type PluginOptions } from "../../mod.ts";

/** The hostile executable. */
export const ESCAPE_EXEC = fileURLToPath(new URL("./fixtures/escape_exec.py", import.meta.url));

/** go-plugin's protocol in Python, which the fixture imports. */
export const GO_PLUGIN_DIR = fileURLToPath(new URL("../../examples/kv-python", import.meta.url));

/** Everything the attack needs, and its release. */
export interface EscapeSetting extends AsyncDisposable {
  /** Start options for the hostile plugin. */
  options: PluginOptions;
  /** Where its report lands. */
  attemptsFile: string;
  /** The directory it must not write into. */
  outsideDir: string;
  /** How many connections reached the listener. */
  connections: () => number;
}

/**
 * Makes the setting: files, listener, a victim Deno plugin.
 *
 * @param hostPid The pid the fixture tries to kill (its host's).
 * @returns The setting; dispose of it to release everything.
 */
export async function escapeSetting(hostPid: number): Promise<EscapeSetting> {
  const stack = new AsyncDisposableStack();
  const outsideDir = await Deno.makeTempDir({ prefix: "bulkhead-outside-" });
  const grantedDir = await Deno.makeTempDir({ prefix: "bulkhead-granted-" });
  stack.defer(() => Deno.remove(outsideDir, { recursive: true }));
  stack.defer(() => Deno.remove(grantedDir, { recursive: true }));
  const secret = `${outsideDir}/secret`;
  await Deno.writeTextFile(secret, "the host's secret");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let connections = 0;
  const accepting = (async () => {
    for await (const conn of listener) {
      connections++;
      conn.close();
    }
  })().catch(() => {});
  stack.defer(async () => {
    listener.close();
    await accepting;
  });
  const victim = stack.use(
    await Plugin.start({ module: FIXTURE, args: ["ok"], name: "victim", logger: () => {} }),
  );
  const attemptsFile = `${grantedDir}/attempts.json`;
  const options: PluginOptions = {
    command: PYTHON,
    args: [ESCAPE_EXEC],
    name: "escape-exec",
    permissions: { read: [GO_PLUGIN_DIR], write: [grantedDir] },
    env: {
      ATTEMPTS_FILE: attemptsFile,
      SECRET_FILE: secret,
      OUTSIDE_DIR: outsideDir,
      TCP_PORT: String((listener.addr as Deno.NetAddr).port),
      OTHER_SOCKET: victim.handshake.address,
      HOST_PID: String(hostPid),
      GO_PLUGIN_DIR,
    },
    stopGraceMs: 1000,
  };
  return {
    options,
    attemptsFile,
    outsideDir,
    connections: () => connections,
    [Symbol.asyncDispose]: () => stack.disposeAsync(),
  };
}

/** One escape attempt as the fixture reports it. */
export interface Attempt {
  /** What it tried. */
  name: string;
  /** `"denied"` or `"ALLOWED"`. */
  outcome: string;
  /** The error it got, or what it reached. */
  detail: string;
}

/** The fixture's report. */
export interface EscapeReport {
  /** Its attempts. */
  attempts: Attempt[];
  /** What it saw at `/`. */
  visible_root: string[];
  /** Its own pid, as it sees it. */
  pid: number;
}

/** Every live descendant of `root` (itself included), from the host's side of /proc. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] === "Z") continue;
      const parent = Number(fields[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry.name)]);
    } catch {
      // gone meanwhile
    }
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** The watchdog of the plugin whose socket directory is `socketDir`, from the host's side of /proc. */
export function watchdogOf(socketDir: string): number | undefined {
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const argv = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).split("\0");
      if (argv.includes("bulkhead-watchdog") && argv.includes(socketDir)) {
        return Number(entry.name);
      }
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** Reads the report once the fixture has written it (it does before its handshake). */
export async function readReport(path: string): Promise<EscapeReport> {
  return JSON.parse(await Deno.readTextFile(path)) as EscapeReport;
}
