/**
 * The errors of a start refused before anything is spawned: the host lacks
 * a permission, a Deno plugin's module graph reaches past its grants, or an
 * executable's sandbox cannot be made. Re-exported by `errors.ts`.
 *
 * @module
 */
import { PluginError } from "./plugin_error.ts";

/**
 * The host itself (the Deno process calling `Plugin.start`) lacks a
 * permission it needs to run a plugin: raised before the plugin is spawned,
 * naming the flags to run the host with.
 */
export class HostPermissionError extends PluginError {
  /** The flags to add to the host's `deno run`, e.g. `--allow-net`. */
  readonly missing: readonly string[];
  /**
   * Makes the error; the message lists the flags and what each is for.
   *
   * @param plugin The plugin's name.
   * @param missing Each missing flag with what it is for.
   * @param options Standard error options (`cause`).
   */
  constructor(
    plugin: string,
    missing: readonly { flag: string; why: string }[],
    options?: ErrorOptions,
  ) {
    super(
      plugin,
      `Cannot start plugin "${plugin}": this host lacks permissions; run it with ${
        missing.map((m) => `${m.flag} (${m.why})`).join(", ")
      }`,
      options,
    );
    this.name = "HostPermissionError";
    this.missing = missing.map((m) => m.flag);
  }
}

/**
 * A Deno plugin's module graph loads a local file outside what the plugin
 * may load (its module root, Bulkhead's own sources, Deno's cache and its
 * `read` grants). Deno loads a module's graph without read permission
 * checks, so such an import (`import secret from "/etc/shadow" with { type:
 * "text" }`) would read the file past the sandbox; the host refuses to start
 * the plugin instead. Nothing was spawned.
 */
export class ModuleGraphError extends PluginError {
  /** The file the graph loads, as imported. */
  readonly file: string;
  /** Where that file really is (symlinks resolved). */
  readonly realPath: string;
  /** The module that imports it (a path, or the specifier when not local). */
  readonly importer: string;
  /** The plugin's module root, when it has one (a local module). */
  readonly moduleRoot: string | undefined;
  /** Every file outside, the first being {@linkcode ModuleGraphError.file}. */
  readonly files: readonly string[];
  /**
   * Makes the error; the message names the file, its importer and the two
   * options that would allow it.
   *
   * @param plugin The plugin's name.
   * @param facts The file, its real path, its importer, the module root, a
   *   wider root that would hold it, and every file outside.
   */
  constructor(
    plugin: string,
    facts: {
      file: string;
      realPath: string;
      importer: string;
      moduleRoot: string | undefined;
      widerRoot: string;
      files: readonly string[];
    },
  ) {
    const link = facts.realPath === facts.file ? "" : `, a link to ${facts.realPath}`;
    const root = facts.moduleRoot === undefined
      ? "outside its read grants"
      : `outside its module root ${facts.moduleRoot} and its read grants`;
    const more = facts.files.length > 1 ? ` (and ${facts.files.length - 1} more files)` : "";
    super(
      plugin,
      `Cannot start plugin "${plugin}": it imports ${facts.file}${link} (from ${facts.importer})${more}, ${root}, which Deno would load without a read check; widen \`moduleRoot\` to ${facts.widerRoot}, or grant \`permissions.read: [${
        JSON.stringify(facts.realPath)
      }]\``,
    );
    this.name = "ModuleGraphError";
    this.file = facts.file;
    this.realPath = facts.realPath;
    this.importer = facts.importer;
    this.moduleRoot = facts.moduleRoot;
    this.files = facts.files;
  }
}

/** Why an executable's sandbox cannot be made. */
export type SandboxFailure = "missing" | "namespaces";

/**
 * An executable plugin cannot start in its bubblewrap sandbox: `bwrap` is
 * not installed, or it cannot make namespaces on this machine (user
 * namespaces disabled). Nothing was started. Install bubblewrap
 * (`apt-get install bubblewrap`), or start the plugin with `sandbox: false`
 * (`--no-sandbox`) to run it with all of the host user's rights.
 */
export class SandboxUnavailableError extends PluginError {
  /** What is missing. */
  readonly reason: SandboxFailure;
  /**
   * Makes a sandbox error; the message says how to install bubblewrap or opt out.
   *
   * @param plugin The plugin's name.
   * @param reason What is missing.
   * @param detail What was found, in words.
   * @param options Standard error options (`cause`).
   */
  constructor(plugin: string, reason: SandboxFailure, detail: string, options?: ErrorOptions) {
    super(
      plugin,
      `Cannot start plugin "${plugin}" in its sandbox: ${detail}. Install bubblewrap (apt-get install bubblewrap), or run this plugin unsandboxed with sandbox: false (--no-sandbox), which gives it all of your user's rights`,
      options,
    );
    this.name = "SandboxUnavailableError";
    this.reason = reason;
  }
}
