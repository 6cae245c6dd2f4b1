/**
 * The NATS example's processor: upper-cases every message and says which
 * host process handled it in a `processed_by` metadata key (metadata,
 * `nats_*` included, passes through to the output). With `slow_ms` in its
 * configuration, a message whose text is `slow` is held that long first.
 *
 * @module
 */
import { serveProcessor } from "../../plugin.ts";

let slowMs = 0;
await serveProcessor(async (batch) => {
  if (slowMs > 0 && batch.some((m) => m.text === "slow")) {
    await new Promise((resolve) => setTimeout(resolve, slowMs));
  }
  for (const message of batch) message.text = message.text.toUpperCase();
}, {
  init: (config) => {
    if (config !== null && typeof config === "object" && !Array.isArray(config)) {
      const value = (config as Record<string, unknown>).slow_ms;
      if (typeof value === "number") slowMs = value;
    }
  },
});
