/**
 * go-plugin's `VersionedPlugins`, plugin side: which application protocol
 * version a plugin serves, and with which services, given the versions its
 * host offers in `PLUGIN_PROTOCOL_VERSIONS`. Internal to `src/plugin/`.
 *
 * @module
 */
import type { ServiceSet } from "./serve.ts";

/** What the plugin serves: one set for every version, or one set per version. */
export interface VersionChoice {
  /** The negotiated version. */
  appVersion: number;
  /** Its services. */
  services: ServiceSet;
}

/**
 * Picks the highest version both sides speak, as go-plugin's server does.
 *
 * @param offered The host's versions (empty: the host named none).
 * @param options The plugin's `services` / `protocolVersions`, or `versions`.
 * @returns The version and its services, or why there is none.
 */
export function chooseVersion(
  offered: readonly number[],
  options: {
    services?: ServiceSet | undefined;
    protocolVersions?: readonly number[] | undefined;
    versions?: Readonly<Record<number, ServiceSet>> | undefined;
  },
): VersionChoice | { error: string } {
  if ((options.services === undefined) === (options.versions === undefined)) {
    return { error: "Cannot serve: give exactly one of `services` or `versions`" };
  }
  if (options.versions !== undefined && options.protocolVersions !== undefined) {
    return {
      error: "Cannot serve: `versions` names the protocol versions; drop `protocolVersions`",
    };
  }
  const byVersion = new Map<number, ServiceSet>();
  if (options.versions !== undefined) {
    for (const [key, set] of Object.entries(options.versions)) {
      const version = Number(key);
      if (!Number.isInteger(version) || version < 1) {
        return { error: `Cannot serve: protocol version "${key}" is not a positive integer` };
      }
      byVersion.set(version, set);
    }
    if (byVersion.size === 0) return { error: "Cannot serve: `versions` names no version" };
  } else {
    for (const version of options.protocolVersions ?? [1]) {
      byVersion.set(version, options.services!);
    }
  }
  const ours = [...byVersion.keys()].sort((a, b) => b - a);
  const common = offered.length === 0 ? ours : ours.filter((v) => offered.includes(v));
  if (common.length === 0) {
    return {
      error: `Cannot serve: the host offers protocol version(s) ${offered.join(", ")}, ` +
        `this plugin speaks ${ours.sort((a, b) => a - b).join(", ")}`,
    };
  }
  return { appVersion: common[0]!, services: byVersion.get(common[0]!)! };
}
