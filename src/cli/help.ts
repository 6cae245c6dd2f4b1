/**
 * The `bulkhead` command's help texts and exit codes.
 *
 * @module
 */
import type { Subcommand } from "./args.ts";

/** Exit codes, documented in the top-level help. */
export const ExitCode = {
  /** Success. */
  ok: 0,
  /** The RPC returned an error, or the plugin is not SERVING. */
  failed: 1,
  /** The command line is wrong. */
  usage: 2,
  /** The plugin failed to start: handshake refused or timed out, or it exited early. */
  startFailed: 3,
  /** The plugin exited while the command was using it. */
  pluginExited: 4,
  /** Interrupted by SIGINT or SIGTERM; the plugin was stopped. */
  interrupted: 130,
} as const;

const EXIT_CODES = `Exit codes:
  0    success
  1    the RPC returned an error (its gRPC code is printed), or the plugin is not SERVING
  2    usage error: a bad option, request or descriptor file, or a method the plugin lacks
  3    the plugin failed to start: not found, refused or timed out in the handshake, or exited early
  4    the plugin exited while the command was using it
  130  interrupted (SIGINT or SIGTERM); the plugin was stopped first`;

const PLUGIN = `The plugin is the command after --. When its first word ends in .ts, .js, .mts
(or .mjs, .tsx, .jsx, .cts, .cjs) or is a file:/https: URL, it runs as a Deno
module in Deno's sandbox with exactly the permissions given below; anything else
runs as an executable (any go-plugin gRPC plugin) in a bubblewrap sandbox with
the same permissions (its network all or nothing), unless --no-sandbox.`;

const OPTIONS = `Plugin options:
  --exec                     Run the plugin as an executable even if it looks like a module
  --no-sandbox               Run an executable unsandboxed, with all of your user's rights
  --name NAME                The plugin's name in logs and errors
  --cookie KEY=VALUE         The application's magic cookie (default: Bulkhead's), so
                             go-plugin plugins of any application can be started
  --protocol-versions 1,2    Application protocol versions to offer (default: 1)
  --env KEY=VALUE            Set a variable in the plugin's environment (repeatable);
                             --env KEY passes this environment's value
  --allow-tcp                Accept a plugin that listens on loopback TCP (an
                             executable needs --allow-net too)
  --timeout MS               How long the plugin has to start (default: 10000)
  --rpc-timeout MS           Deadline of each RPC this command makes (default: 10000)
  --heap-mb N                JavaScript heap limit of a Deno plugin, in MiB
  --data-mb N                Data segment limit (RLIMIT_DATA), in MiB (Deno needs ~640+)
  --cpu-seconds N            CPU time limit (RLIMIT_CPU), in seconds
  --open-files N             Open file limit (RLIMIT_NOFILE)
  -q, --quiet                Do not show the plugin's log lines
  --json                     Print one JSON object
  -h, --help                 Show this help

Permissions of a plugin (default: nothing but its own socket; an executable's
--allow-net is all or nothing, and it gets its own directory read-only):
  --allow-read[=PATH,...]    --allow-write[=PATH,...]    --allow-net[=HOST,...]
  --allow-env[=NAME,...]     --allow-sys[=API,...]
  --unsafe-allow-run[=PROGRAM,...]   Lets a Deno plugin run programs: NOT sandboxed
  --unsafe-allow-ffi[=PATH,...]      Lets a Deno plugin load native code: NOT sandboxed
  --module-root DIR          Where a Deno plugin may load modules and imported
                             JSON/text from, besides Bulkhead and --allow-read
                             paths (default: its module's folder; Deno loads
                             imports without read checks)
  --sha256 HEX               Refuse to run it unless its SHA-256 is HEX (an executable's
                             file, a Deno module's whole graph; inspect prints it)`;

const TOP = `bulkhead — start a plugin and talk to it over gRPC, or run a pipeline of plugins

Usage:
  bulkhead run     [--quiet] [--json] [--check] [--resume] [--watch] <pipeline.yaml>
  bulkhead gen     [--out DIR] [--root DIR] <proto dir or .proto files...>
  bulkhead plugins list --plugins GLOB [--json] | manifest -- <plugin.ts>
  bulkhead health  [options] -- <plugin> [args...]
  bulkhead inspect [options] -- <plugin> [args...]
  bulkhead call    [options] <package.Service/Method> [<json>] -- <plugin> [args...]
  bulkhead version

Commands:
  run       Run a pipeline: input → batches → processor plugins → output
  gen       Generate TypeScript (protobuf-es) for your own .proto files
  plugins   List the plugin manifests a glob finds (name, type, command, fields)
  health    Print the plugin's health status; exit 0 only when SERVING
  inspect   Print the handshake, services, methods, permissions and health
  call      Call a method from JSON (any kind, streams too) and print the JSON responses
  version   Print Bulkhead's version

${PLUGIN}

Run "bulkhead <command> --help" for a command's options.

${EXIT_CODES}
(bulkhead run has its own exit codes: see "bulkhead run --help".)
`;

const HELP: Record<Subcommand, string> = {
  run: `bulkhead run — run a pipeline: input → batches → processor plugins → output

Usage:
  bulkhead run [--quiet] [--json] [--check] [--resume] [--watch]
               [--metrics-addr HOST:PORT] [--plugins GLOB]... <pipeline.yaml>
  bulkhead run --schema

Reads the pipeline's YAML configuration (every problem is reported as
file:line: field: problem), starts its processor plugins (a pool of processes
each, restarted when they crash), and moves every message from the input
through the processors to the output. A batch in flight when its plugin
crashes is sent again; a batch that keeps crashing it is split until the
messages at fault are found, and those go to the dead-letter output with the
reason. The input is acknowledged only after the output has written. A file
output writes each batch whole and syncs it before acknowledging; it refuses
to overwrite a non-empty file unless output.file.mode is append or truncate.
Plugin crashes, kills and restarts are shown on stderr as they happen.

On a terminal, a live line on stderr shows messages in/out per second,
per-stage latency and restarts; a summary follows at the end. SIGINT or
SIGTERM stops reading and drains the batches in flight; a second one exits
at once.

SIGHUP reloads every plugin processor from its file by hot upgrade: the new
version's processes start and pass their health check, new batches go to
them, batches in flight finish on the old ones, which then stop; a version
that fails to start or crashes within its probation is rolled back (the old
one keeps serving). No batch is lost or written twice.

Options:
  --plugins GLOB             Register the plugins of these manifests (Redpanda
                             Connect's plugin.yaml format, e.g. 'plugins/*.yaml'):
                             a component may then be { <name>: { <fields> } },
                             checked against the manifest's fields
  -q, --quiet                No progress line and no summary
  --json                     Print the summary as one JSON object: on stdout, or on
                             stderr when the pipeline's output is stdout
  --check                    Validate the configuration and print what would run
                             (each plugin's launch, pool, grants, limits, timeouts,
                             restart policy; batching); check that file outputs'
                             directories exist and are writable; start nothing
  --schema                   Print the JSON Schema of pipeline.yaml (for editors)
  --metrics-addr HOST:PORT   Serve Prometheus metrics on /metrics, and /ready, /live
                             (port 0: any free port; the address is printed on stderr)
  -w, --watch                Reload a plugin processor (as SIGHUP does) when its
                             plugin file changes
  --resume                   Continue an interrupted run after its checkpoint
                             (<output>.checkpoint): a file output and a file or
                             generate input; nothing lost, nothing written twice
  -h, --help                 Show this help

Exit codes:
  0    the input ended and every message was written or dead-lettered (--check: valid)
  1    the pipeline failed while running (a plugin spent its crash budget, an output failed)
  2    usage or configuration error, an output file that would be overwritten,
       or a run that cannot be resumed
  3    a plugin failed to start
  130  stopped by SIGINT or SIGTERM after draining the batches in flight
`,
  health: `bulkhead health — print a plugin's health status, like grpc_health_probe

Usage:
  bulkhead health [options] -- <plugin> [args...]

Starts the plugin, asks grpc.health.v1.Health/Check, prints the status (e.g.
SERVING) and stops the plugin. Exits 0 only when the status is SERVING.

Options:
  --service NAME             The service to ask about (default: plugin)

${OPTIONS}

${PLUGIN}

${EXIT_CODES}
`,
  inspect: `bulkhead inspect — show what a plugin is and what it may do

Usage:
  bulkhead inspect [options] -- <plugin> [args...]

Starts the plugin and prints its handshake line and fields, its protocol
version, its services and their methods (found through gRPC reflection,
grpc.reflection.v1 or v1alpha), its permissions with a warning for each way out
of the sandbox, and its health; then stops it.

${OPTIONS}

${PLUGIN}

${EXIT_CODES}
`,
  call: `bulkhead call — call a method from JSON, like grpcurl

Usage:
  bulkhead call [options] <package.Service/Method> [<json>] -- <plugin> [args...]

Starts the plugin, finds the method (through gRPC reflection, or in the
descriptors given with --proto or --protoset), sends the request (proto3 JSON;
default {}; "-" reads it from stdin, "@FILE" from a file), prints the response
and stops the plugin. Service.Method works as well as Service/Method.

A unary response is printed as indented JSON. A server-streaming or bidi
method prints one JSON object a line, as each arrives. A client-streaming or
bidi method reads its requests as JSON lines from stdin (or from <json> or
@FILE, one a line) and sends each as it comes. Ctrl-C cancels the call (the
plugin sees it cancelled) and stops the plugin.

Call options:
  --proto FILE               Find the method in this .proto (repeatable), compiled
                             with buf, instead of reflection
  --import-path DIR          The root the --proto files import from (default:
                             the first file's directory)
  --protoset FILE            Find the method in this binary FileDescriptorSet
                             (buf build -o set.binpb; protoc --include_imports
                             --descriptor_set_out), instead of reflection
  -H, --header 'NAME: VALUE' Send this metadata with the call (repeatable)
  --max-time SECONDS         The call's whole deadline, e.g. 2 or 0.5 (default:
                             --rpc-timeout for unary and client streaming,
                             none for a stream of responses)

Examples:
  bulkhead call bulkhead.examples.greeter.v1.GreeterService/Greet '{"name":"Ada"}' \\
    -- examples/greeter/plugin.ts
  bulkhead call --cookie BULKHEAD_KV_PLUGIN=kv-3f9c2e61-interop \\
    --proto proto/bulkhead/examples/kv/v1/kv.proto --import-path proto \\
    bulkhead.examples.kv.v1.KvService/List -- python3 examples/kv-python/kv_plugin.py --no-reflection

${OPTIONS}

${PLUGIN}

${EXIT_CODES}
`,
  gen: `bulkhead gen — generate TypeScript for your own .proto files

Usage:
  bulkhead gen [--out DIR] [--root DIR] <proto dir or .proto files...>

Runs buf and protoc-gen-es (from npm, at the versions Bulkhead pins) and
writes one <name>_pb.ts per .proto, with the messages' types and schemas and
each service's descriptor, for Plugin.client(Service) and service(Service, …).
The generated files import protobuf-es by full pinned specifier
(npm:@bufbuild/protobuf@…), so they need no import map. Nothing is written
unless every file compiles; buf's errors are printed as file:line:column.

A directory is an import root: its .proto files import each other by paths
relative to it. Single .proto files are relative to their own directory,
or to --root.

Options:
  -o, --out DIR              Where to write (default: gen)
  --root DIR                 The import root of .proto files given one by one
  -q, --quiet                Do not list the files written
  -h, --help                 Show this help

Exit codes:
  0    the files were written
  1    a .proto does not compile, or buf could not run
  2    usage error
`,
  plugins: `bulkhead plugins — list plugin manifests

Usage:
  bulkhead plugins list --plugins GLOB [--plugins GLOB]... [--json]
  bulkhead plugins manifest [--json] -- <plugin.ts>

Reads Redpanda Connect plugin manifests (plugin.yaml: name, summary,
description, command, cwd, type, fields) and prints each plugin with its
command and configuration fields, as "bulkhead run --plugins" registers them.
An invalid manifest is reported as file:line: field: problem (exit code 2).

"manifest" prints, as plugin.yaml, the manifest a Deno plugin declares in code
(serveProcessor(fn, { manifest }), and serveInput/serveOutput): the module is
run with BULKHEAD_PRINT_MANIFEST=1 and no other permission.
`,
  version: `bulkhead version — print Bulkhead's version

Usage:
  bulkhead version
`,
};

/**
 * Returns the help text for the command line or one subcommand.
 *
 * @param topic The subcommand, or `undefined` for the top level.
 * @returns The text, ending in a newline.
 * @example
 * ```ts
 * import { helpText } from "./help.ts";
 * if (!helpText("call").includes("Usage:")) throw new Error();
 * ```
 */
export function helpText(topic: Subcommand | undefined): string {
  return topic === undefined ? TOP : HELP[topic];
}
