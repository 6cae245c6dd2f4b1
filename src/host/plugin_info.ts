/**
 * What a host can tell about a running plugin: where it is in its life,
 * what confines it, and a snapshot for display ({@linkcode Plugin.info}).
 *
 * @module
 */
import type { ExitStatus } from "./errors.ts";
import type { Handshake } from "./handshake.ts";
import type { ResourceLimits } from "./limits.ts";

/** What confines a plugin: Deno's permissions, bubblewrap, or nothing (`sandbox: false`). */
export type SandboxKind = "deno" | "bubblewrap" | "none";

/** Where a plugin is in its life. */
export type PluginState = "starting" | "ready" | "stopping" | "exited";

/** A snapshot of a plugin for display. */
export interface PluginInfo {
  /** Its name. */
  name: string;
  /** Its process id (a sandboxed executable's: the shell that runs its `bwrap`). */
  pid: number;
  /** Its state. */
  state: PluginState;
  /** The validated handshake. */
  handshake: Handshake;
  /** Whether a sandbox confines it (`sandbox` is not `"none"`). */
  sandboxed: boolean;
  /** What confines it: Deno's permissions (a module), bubblewrap (an executable), or nothing. */
  sandbox: SandboxKind;
  /** The Deno or bubblewrap flags that grant its permissions (empty when not sandboxed). */
  permissionFlags: string[];
  /** Grants that let it leave the sandbox. */
  sandboxEscapes: string[];
  /** Where a Deno plugin may load modules from (besides Bulkhead, Deno's cache and `read` grants). */
  moduleRoot?: string;
  /** Its resource limits. */
  limits: ResourceLimits;
  /** Milliseconds from spawn to ready (handshake validated, health answered). */
  readyInMs: number;
  /**
   * Its resident set size now, in bytes, when it can be read (a sandboxed
   * executable's: its whole tree, the shell and bubblewrap included).
   */
  rssBytes?: number;
  /** How it exited, once it has. */
  exit?: ExitStatus;
  /** Why it exited, in words, naming a limit it hit (e.g. `"exceeded its 256 MiB heap (signal SIGTRAP)"`). */
  exitReason?: string;
  /** Its last stderr lines. */
  stderrTail: string[];
}
