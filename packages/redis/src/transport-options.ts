import type { Logger } from "@tq/core";
import { TqError } from "@tq/core";

/**
 * How a Celery user's `broker_transport_options` / `result_backend_transport_options` map onto tq's
 * options: each Celery (kombu) name beside tq's own camelCase name, with the unit conversion.
 */
const CELERY_NAMES: Readonly<Record<string, { option: string; scale?: number }>> = {
  visibility_timeout: { option: "visibilityTimeoutMs", scale: 1000 },
  global_keyprefix: { option: "keyPrefix" },
  priority_steps: { option: "prioritySteps" },
  polling_interval: { option: "pollIntervalMs", scale: 1000 },
  result_chord_ordered: { option: "chordOrdered" },
};

/**
 * Translates transport options from an app's configuration into the options of a broker or backend:
 * tq's names pass as they are, Celery's are renamed and converted (seconds → ms). Options neither
 * side knows are reported once at warn level and ignored, since a Celery configuration often carries
 * kombu settings (`max_connections`, `socket_timeout`…) that ioredis handles differently.
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
          throw new TqError("TQ_CONFIG", `transport option ${key} must be a number of seconds`, {
            component: "redis",
          });
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
    logger?.warn("ignoring transport options the Redis transport does not know", {
      "tq.options": ignored.join(", "),
    });
  }
  return out;
}
