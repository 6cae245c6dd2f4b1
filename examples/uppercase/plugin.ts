/**
 * A batch processor plugin: upper-cases every message. Runs under a
 * Bulkhead pipeline in either launch mode, and under Redpanda Connect.
 *
 * @module
 */
import { serveProcessor } from "../../plugin.ts";

await serveProcessor((batch) => {
  for (const message of batch) message.text = message.text.toUpperCase();
});
