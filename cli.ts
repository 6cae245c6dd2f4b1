/**
 * The `bulkhead` command: start any plugin (a Deno module in its sandbox, or
 * any go-plugin gRPC executable) and check its health, inspect it, or call it.
 *
 * ```sh
 * deno run -A cli.ts inspect -- examples/greeter/plugin.ts
 * deno run -A cli.ts call bulkhead.examples.greeter.v1.GreeterService/Greet '{"name":"Ada"}' \
 *   -- examples/greeter/plugin.ts
 * ```
 *
 * Run `deno run -A cli.ts --help` for commands, options and exit codes.
 *
 * @module
 */
import denoJson from "./deno.json" with { type: "json" };
import { type Logger, Plugin, PluginError, PluginExitedError, stderrLogger } from "./mod.ts";
import { callUnaryJson } from "./src/host/json_call.ts";
import { ReflectionClient } from "./src/host/reflection_client.ts";
import { type CliCommand, parseCli, type PluginInvocation, UsageError } from "./src/cli/args.ts";
import { describeRpcError } from "./src/cli/errors.ts";
import { ExitCode, helpText } from "./src/cli/help.ts";
import { formatInspect, inspectPlugin } from "./src/cli/inspect.ts";
import { runCommand } from "./src/cli/run.ts";
import { pluginsCommand } from "./src/cli/plugins.ts";
import { genCommand } from "./src/cli/gen.ts";

/** Options for {@linkcode main}. */
export interface MainOptions {
  /** Interrupts the command: the plugin is stopped and `main` returns 130. */
  signal?: AbortSignal;
}

/**
 * Runs the `bulkhead` command line and returns its exit code. Prints results
 * to stdout and errors, one line each, to stderr. Every plugin it starts is
 * stopped before it returns.
 *
 * @param argv The arguments after the program name.
 * @param options A signal that interrupts the command (the plugin is still stopped).
 * @returns The exit code: 0 ok, 1 RPC error or not SERVING, 2 usage, 3 the
 *   plugin failed to start, 4 the plugin exited while in use, 130 interrupted
 *   (`run` has its own, see `RunExitCode`).
 * @example
 * ```ts ignore
 * import { main } from "bulkhead/cli.ts";
 * const code = await main(["health", "--", "plugin.ts"]);
 * ```
 */
export async function main(
  argv: readonly string[],
  options: MainOptions = {},
): Promise<number> {
  const signal = options.signal ?? new AbortController().signal;
  let command: CliCommand;
  let request: unknown;
  try {
    command = parseCli(argv);
    if (command.kind === "call") request = await readRequest(command.request);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const help = error.command ? `bulkhead ${error.command} --help` : "bulkhead --help";
    fail(`${error.message}\nRun "${help}" for usage.`);
    return ExitCode.usage;
  }
  switch (command.kind) {
    case "help":
      print(helpText(command.topic));
      return ExitCode.ok;
    case "version":
      print(`bulkhead ${denoJson.version}\n`);
      return ExitCode.ok;
    case "run":
      try {
        return await runCommand(command.argv, signal, {
          out: print,
          err: (text) => writeAll(Deno.stderr, text),
          isTerminal: Deno.stderr.isTerminal(),
        });
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        fail(`${error.message}\nRun "bulkhead run --help" for usage.`);
        return ExitCode.usage;
      }
    case "plugins":
      try {
        return await pluginsCommand(command.argv, {
          out: print,
          err: (text) => writeAll(Deno.stderr, text),
        });
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        fail(`${error.message}\nRun "bulkhead plugins --help" for usage.`);
        return ExitCode.usage;
      }
    case "gen":
      try {
        return await genCommand(command.argv, signal, {
          out: print,
          err: (text) => writeAll(Deno.stderr, text),
        });
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        fail(`${error.message}\nRun "bulkhead gen --help" for usage.`);
        return ExitCode.usage;
      }
  }

  const invocation = command.plugin;
  if (invocation.start.command !== undefined && invocation.permissionFlags.length > 0) {
    fail(
      `warning: ${invocation.permissionFlags.join(" ")} ignored: ` +
        `${invocation.start.command} is an executable, which is not sandboxed`,
    );
  }
  // health and inspect report a NOT_SERVING plugin's status instead of waiting it out
  const plugin = await startPlugin(invocation, command.kind === "call", signal);
  if (typeof plugin === "number") return plugin;
  const rpc = { timeoutMs: invocation.rpcTimeoutMs, signal };
  try {
    switch (command.kind) {
      case "health": {
        const status = await plugin.health({ service: command.service, ...rpc });
        print(
          invocation.json
            ? `${JSON.stringify({ service: command.service, status })}\n`
            : `${status}\n`,
        );
        return status === "SERVING" ? ExitCode.ok : ExitCode.failed;
      }
      case "inspect": {
        const report = await inspectPlugin(plugin, { ...rpc, checksum: invocation.start });
        print(invocation.json ? `${JSON.stringify(report, null, 2)}\n` : formatInspect(report));
        return ExitCode.ok;
      }
      case "call": {
        const method = await new ReflectionClient(plugin).method(command.method, rpc);
        const response = await callUnaryJson(plugin, method, request as never, rpc);
        print(`${JSON.stringify(response, null, 2)}\n`);
        return ExitCode.ok;
      }
    }
  } catch (error) {
    if (signal.aborted) return interrupted();
    return await explainFailure(plugin, error);
  } finally {
    await plugin.stop();
  }
}

async function startPlugin(
  invocation: PluginInvocation,
  waitForServing: boolean,
  signal: AbortSignal,
): Promise<Plugin | number> {
  const quiet: Logger = () => {};
  try {
    return await Plugin.start({
      ...invocation.start,
      waitForServing,
      logger: invocation.quiet ? quiet : stderrLogger,
      signal,
    });
  } catch (error) {
    if (signal.aborted) return interrupted();
    if (error instanceof PluginError) {
      fail(error.message);
    } else {
      const target = invocation.start.name ?? invocation.start.module ??
        invocation.start.command;
      fail(`Cannot start plugin "${target}": ${messageOf(error)}`);
    }
    return ExitCode.startFailed;
  }
}

async function explainFailure(plugin: Plugin, error: unknown): Promise<number> {
  if (error instanceof TypeError || error instanceof UsageError) {
    fail(messageOf(error));
    return ExitCode.usage;
  }
  const status = await exitedWithin(plugin, 300);
  if (status) {
    const info = plugin.info();
    fail(new PluginExitedError(plugin.name, "while in use", status, info.stderrTail).message);
    return ExitCode.pluginExited;
  }
  const { code, message } = describeRpcError(error);
  fail(`${code}: ${message}`);
  return ExitCode.failed;
}

function interrupted(): number {
  fail("interrupted; the plugin was stopped");
  return ExitCode.interrupted;
}

async function readRequest(text: string): Promise<unknown> {
  let source = "the request";
  try {
    if (text === "-") {
      source = "the request on stdin";
      text = await new Response(Deno.stdin.readable).text();
    } else if (text.startsWith("@")) {
      source = `the request in ${text.slice(1)}`;
      text = await Deno.readTextFile(text.slice(1));
    }
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`Cannot read ${source}: ${messageOf(error)}`, "call");
  }
}

async function exitedWithin(plugin: Plugin, ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) =>
    timer = setTimeout(() => resolve(undefined), ms)
  );
  try {
    return await Promise.race([plugin.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function print(text: string): void {
  writeAll(Deno.stdout, text);
}

function fail(message: string): void {
  writeAll(Deno.stderr, `bulkhead: ${message}\n`);
}

function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = new TextEncoder().encode(text);
  try {
    while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
  } catch (error) {
    // the reader went away (`bulkhead inspect | head -1`): nothing left to tell it
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
  }
}

if (import.meta.main) {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) Deno.exit(ExitCode.interrupted);
    controller.abort(new DOMException("Interrupted", "AbortError"));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.exit(await main(Deno.args, { signal: controller.signal }));
}
