import type { Logger } from "@tq/core";
import { configError } from "./errors.js";

/**
 * How a Celery user's `broker_transport_options` / `result_backend_transport_options` and
 * `mongodb_backend_settings` map onto tq's options: each Celery (kombu) name beside tq's camelCase
 * name, with the unit conversion.
 */
const CELERY_NAMES: Readonly<Record<string, { option: string; scale?: number }>> = {
  visibility_timeout: { option: "visibilityTimeoutMs", scale: 1000 },
  polling_interval: { option: "pollIntervalMs", scale: 1000 },
  database: { option: "database" },
  taskmeta_collection: { option: "taskmetaCollection" },
  groupmeta_collection: { option: "groupmetaCollection" },
  options: { option: "clientOptions" },
};

/**
 * Translates transport options from an app's configuration into broker or backend options: tq's
 * names pass as they are, Celery's are renamed and converted (seconds → ms). Options neither side
 * knows are reported once at warn level and ignored.
 */
export function translateTransportOptions(
  given: Readonly<Record<string, unknown>> | undefined,
  known: readonly string[],
  logger: Logger | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const ignored: string[] = [];
  for (const [key, value] of Object.entries(given ?? {})) {
    if (known.includes(key)) {
      out[key] = value;
      continue;
    }
    const celery = CELERY_NAMES[key];
    if (celery && known.includes(celery.option)) {
      if (celery.scale !== undefined) {
        if (typeof value !== "number" || !Number.isFinite(value)) {
          throw configError(`transport option ${key} must be a number of seconds`);
        }
        out[celery.option] = value * celery.scale;
      } else {
        out[celery.option] = value;
      }
      continue;
    }
    ignored.push(key);
  }
  if (ignored.length > 0) {
    logger?.warn("ignoring transport options the MongoDB transport does not know", {
      "tq.options": ignored.join(", "),
    });
  }
  return out;
}
