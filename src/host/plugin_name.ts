/**
 * The name a plugin gets in logs and errors when its options name none.
 *
 * @module
 */
import { INTERPRETERS } from "./_exec_sandbox.ts";
import type { PluginOptions } from "./plugin_options.ts";

/**
 * The name a plugin gets when its options name none: the module's or
 * command's file name (or its folder's, for `plugin.ts`, `main.ts`, …).
 *
 * @param options The plugin's options.
 * @returns The name.
 * @example
 * ```ts
 * import { defaultPluginName } from "./plugin_name.ts";
 * console.log(defaultPluginName({ module: "examples/greeter/plugin.ts" })); // "greeter"
 * ```
 */
export function defaultPluginName(
  options: Pick<PluginOptions, "module" | "command" | "args">,
): string {
  if (options.module !== undefined) {
    return baseName(options.module instanceof URL ? options.module.href : options.module);
  }
  const command = options.command ?? "plugin";
  // an interpreter running a script is named after the script
  const script = options.args?.find((a) => !a.startsWith("-") && /[./]/.test(a));
  if (script && INTERPRETERS.test(baseName(command))) return baseName(script);
  return baseName(command);
}

function baseName(target: string): string {
  const parts = target.replace(/\/+$/, "").split("/");
  const file = (parts.pop() ?? target).replace(/\.(ts|js|mjs|mts|py)$/, "");
  const generic = ["plugin", "main", "mod", "index"].includes(file);
  const parent = parts.pop();
  // "./plugin.ts" is "plugin", not "."
  return (generic && parent && parent !== "." && parent !== ".." ? parent : file) || target;
}
