/**
 * The base class of Bulkhead's plugin errors (the rest are in `errors.ts`
 * and `launch_errors.ts`).
 *
 * @module
 */

/** Base class of Bulkhead's plugin errors; carries the plugin's name. */
export class PluginError extends Error {
  /** The plugin's name. */
  readonly plugin: string;
  /**
   * Makes an error about a plugin.
   *
   * @param plugin The plugin's name.
   * @param message The message.
   * @param options Standard error options (`cause`).
   */
  constructor(plugin: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PluginError";
    this.plugin = plugin;
  }
}
