/**
 * `bulkhead run --watch`: reloads a plugin processor (a hot upgrade, see
 * `reload.ts`) when its plugin file changes. Watches each processor's entry
 * file — its `module` when a local file, its `command` when given as a path
 * — through the file's folder, so that an editor's save by rename is seen.
 * Files the entry imports are not watched: send SIGHUP after changing one.
 *
 * @module
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { PipelineConfig } from "./config.ts";
import type { PipelineControl } from "./reload.ts";

/** Options for {@linkcode watchPluginFiles}. */
export interface WatchOptions {
  /**
   * How long a file must stay unchanged before its stage reloads, in
   * milliseconds (a save is often several writes).
   * @default {300}
   */
  debounceMs?: number;
  /** Told when a watched file changed and its stage starts reloading. */
  onChange?: (stage: string, path: string) => void;
}

/** Watches plugin files until disposed (reloads under way are not waited for). */
export interface PluginWatch extends AsyncDisposable {
  /** The files watched, by stage name. */
  readonly files: ReadonlyMap<string, string>;
}

/**
 * Starts watching the entry files of a pipeline's plugin processors.
 *
 * @param config The pipeline.
 * @param control The running pipeline's control (`reload`).
 * @param options Debounce and listeners.
 * @returns The watch; dispose it (`await using`) to stop watching.
 * @example
 * ```ts ignore
 * await using watch = watchPluginFiles(config, control, { onChange: (stage) => console.log(stage) });
 * ```
 */
export function watchPluginFiles(
  config: PipelineConfig,
  control: PipelineControl,
  options: WatchOptions = {},
): PluginWatch {
  const files = new Map<string, string>();
  for (const processor of config.processors) {
    if (processor.kind !== "plugin") continue;
    const path = entryFile(processor.plugin.module, processor.plugin.command, processor.plugin.cwd);
    if (path !== undefined) files.set(processor.name, path);
  }
  const debounceMs = options.debounceMs ?? 300;
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  const folders = [...new Set([...files.values()].map((path) => dirname(path)))];
  const watcher = folders.length > 0 ? Deno.watchFs(folders, { recursive: false }) : undefined;
  let closed = false;
  const changed = (path: string) => {
    for (const [stage, file] of files) {
      if (file !== path) continue;
      clearTimeout(timers.get(stage));
      timers.set(
        stage,
        setTimeout(() => {
          timers.delete(stage);
          if (closed) return;
          options.onChange?.(stage, file);
          // how it ended goes to the control's listener
          void control.reload({ stages: [stage] });
        }, debounceMs),
      );
    }
  };
  const pump = (async () => {
    if (watcher === undefined) return;
    try {
      for await (const event of watcher) {
        if (event.kind === "access" || event.kind === "other") continue;
        for (const path of event.paths) changed(resolve(path));
      }
    } catch {
      // closed
    }
  })();
  return {
    files,
    async [Symbol.asyncDispose]() {
      if (closed) return await pump;
      closed = true;
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      try {
        watcher?.close();
      } catch {
        // already closed
      }
      await pump;
    },
  };
}

/** A local entry file's absolute path, or `undefined` for a remote module or a command in PATH. */
function entryFile(
  module: string | undefined,
  command: string | undefined,
  cwd: string,
): string | undefined {
  if (module !== undefined) {
    if (module.startsWith("file:")) return fileURLToPath(module);
    if (/^[a-z][a-z0-9+.-]*:/i.test(module)) return undefined;
    return isAbsolute(module) ? module : resolve(cwd, module);
  }
  if (command === undefined || !command.includes("/")) return undefined;
  return isAbsolute(command) ? command : resolve(cwd, command);
}
