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
import { callJson } from "./src/host/json_call.ts";
import type { DescMethod, FileRegistry, JsonValue } from "./src/npm/protobuf.ts";
import { Code, ConnectError } from "./src/npm/connect.ts";
import { loadDescriptors, methodFromRegistry } from "./src/cli/descriptors.ts";
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
  let requests: JsonValue[] | undefined; // undefined: read from stdin once the method is known
  let descriptors: FileRegistry | undefined;
  try {
    command = parseCli(argv);
    if (command.kind === "call") {
      requests = await readRequests(command.request);
      const { protos, protosets, importPaths } = command.call;
      if (protos.length > 0 || protosets.length > 0) {
        descriptors = await loadDescriptors({ protos, protosets, importPaths }, signal);
      }
    }
  } catch (error) {
    if (signal.aborted) return interrupted();
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
          columns: terminalColumns,
          setLastWords: (words) => lastWords = words,
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
  if (invocation.start.sandbox === false) {
    fail(
      `warning: ${invocation.start.command} runs unsandboxed (--no-sandbox), with all of your user's rights` +
        (invocation.permissionFlags.length > 0
          ? `; ${invocation.permissionFlags.join(" ")} ignored`
          : ""),
    );
  }
  // health and inspect report a NOT_SERVING plugin's status instead of waiting it out
  const plugin = await startPlugin(invocation, command.kind === "call", signal);
  if (typeof plugin === "number") return plugin;
  const quiet = invocation.quiet;
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
        const method = await findMethod(plugin, command.method, descriptors, rpc);
        const kind = method.methodKind;
        const streamsIn = kind === "client_streaming" || kind === "bidi_streaming";
        const streamsOut = kind === "server_streaming" || kind === "bidi_streaming";
        const input = requests ??
          (streamsIn
            ? stdinLines()
            : await readStdinRequests(command.request === undefined ? "{}" : undefined));
        const { maxTimeMs, headers } = command.call;
        const timeoutMs = maxTimeMs ?? (streamsOut ? undefined : invocation.rpcTimeoutMs);
        const responses = callJson(plugin, method, input, {
          signal,
          ...(timeoutMs === undefined ? {} : { timeoutMs }),
          ...(headers.length > 0 ? { headers } : {}),
        });
        for await (const response of responses) {
          print(
            streamsOut ? `${JSON.stringify(response)}\n` : `${JSON.stringify(response, null, 2)}\n`,
          );
        }
        return ExitCode.ok;
      }
    }
  } catch (error) {
    if (signal.aborted) return interrupted();
    return await explainFailure(plugin, error, quiet);
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
      fail(invocation.quiet ? error.message : withoutTail(error));
    } else {
      const target = invocation.start.name ?? invocation.start.module ??
        invocation.start.command;
      fail(`Cannot start plugin "${target}": ${messageOf(error)}`);
    }
    return ExitCode.startFailed;
  }
}

async function explainFailure(plugin: Plugin, error: unknown, quiet: boolean): Promise<number> {
  if (error instanceof TypeError || error instanceof UsageError) {
    fail(messageOf(error));
    return ExitCode.usage;
  }
  const status = await exitedWithin(plugin, 300);
  if (status) {
    const info = plugin.info();
    const exited = new PluginExitedError(plugin.name, "while in use", status, info.stderrTail);
    fail(quiet ? exited.message : withoutTail(exited));
    return ExitCode.pluginExited;
  }
  const { code, message } = describeRpcError(error);
  fail(`${code}: ${message}`);
  return ExitCode.failed;
}

/**
 * The message without the plugin's stderr tail, which the live log has
 * printed already (once is enough).
 */
function withoutTail(error: PluginError): string {
  const tail = (error as { stderrTail?: readonly string[] }).stderrTail ?? [];
  const cut = error.message.indexOf("; last stderr lines:\n");
  if (tail.length === 0 || cut < 0) return error.message;
  return `${error.message.slice(0, cut)} (its stderr is above)`;
}

function interrupted(): number {
  fail("interrupted; the plugin was stopped");
  return ExitCode.interrupted;
}

/**
 * Finds the method: in the descriptors given, else through reflection. A
 * method the plugin does not have is a usage error; a plugin without
 * reflection gets the flags that help.
 */
async function findMethod(
  plugin: Plugin,
  name: string,
  descriptors: FileRegistry | undefined,
  rpc: { timeoutMs: number; signal: AbortSignal },
): Promise<DescMethod> {
  try {
    return descriptors
      ? methodFromRegistry(descriptors, name)
      : await new ReflectionClient(plugin).method(name, rpc);
  } catch (error) {
    if (!(error instanceof ConnectError)) throw error;
    if (error.code === Code.NotFound) throw new UsageError(error.rawMessage, "call");
    if (error.code === Code.Unimplemented && !descriptors) {
      throw new UsageError(
        `Cannot find ${name}: ${plugin.name} serves no gRPC reflection ` +
          "(go-plugin plugins often do not). Give its .proto: --proto FILE " +
          "[--import-path DIR], or a compiled FileDescriptorSet: --protoset FILE",
        "call",
      );
    }
    throw error;
  }
}

/**
 * The requests given inline or in a file, parsed now (so a mistake costs no
 * plugin start); \`undefined\` for stdin (\`-\` or none), read once the method
 * is known.
 */
async function readRequests(text: string | undefined): Promise<JsonValue[] | undefined> {
  if (text === undefined || text === "-" || text === "@-") return undefined;
  if (!text.startsWith("@")) return parseJsonMessages(text, "the request");
  const path = text.slice(1);
  let content: string;
  try {
    content = await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(`Cannot read the request in ${path}: ${messageOf(error)}`, "call");
  }
  return parseJsonMessages(content, `the request in ${path}`);
}

/** All of stdin as requests; \`fallback\` when stdin is not given at all. */
async function readStdinRequests(fallback: string | undefined): Promise<JsonValue[]> {
  if (fallback !== undefined) return parseJsonMessages(fallback, "the request");
  const text = await new Response(Deno.stdin.readable).text();
  return parseJsonMessages(text, "the request on stdin");
}

/** One JSON value, or one per line (JSON lines). */
function parseJsonMessages(text: string, source: string): JsonValue[] {
  try {
    return [JSON.parse(text)];
  } catch (whole) {
    const lines = text.split("\n");
    if (lines.filter((line) => line.trim() !== "").length <= 1) {
      throw new UsageError(`Cannot read ${source}: ${messageOf(whole)}`, "call");
    }
    return lines.flatMap((line, index) => {
      if (line.trim() === "") return [];
      try {
        return [JSON.parse(line)];
      } catch (error) {
        throw new UsageError(
          `Cannot read ${source}: line ${index + 1}: ${messageOf(error)}`,
          "call",
        );
      }
    });
  }
}

/** Requests from stdin, one JSON value a line, as they arrive. */
async function* stdinLines(): AsyncGenerator<JsonValue> {
  let number = 0;
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).pipeThrough(
    new TransformStream<string, string>({
      start() {},
      transform(chunk, controller) {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf("\n")) >= 0) {
          controller.enqueue(buffer.slice(0, end));
          buffer = buffer.slice(end + 1);
        }
      },
      flush(controller) {
        if (buffer !== "") controller.enqueue(buffer);
      },
    }),
  );
  let buffer = "";
  for await (const line of lines) {
    number++;
    if (line.trim() === "") continue;
    try {
      yield JSON.parse(line);
    } catch (error) {
      throw new UsageError(
        `Cannot read the requests on stdin: line ${number}: ${messageOf(error)}`,
        "call",
      );
    }
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

/** What `run` prints when a second signal exits at once (set while a pipeline runs). */
let lastWords: (() => string) | undefined;

function terminalColumns(): number {
  try {
    return Deno.consoleSize().columns || 80;
  } catch {
    return 80; // not a terminal after all
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
    if (controller.signal.aborted) {
      if (lastWords) writeAll(Deno.stderr, lastWords());
      Deno.exit(ExitCode.interrupted);
    }
    controller.abort(new DOMException("Interrupted", "AbortError"));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.exit(await main(Deno.args, { signal: controller.signal }));
}
