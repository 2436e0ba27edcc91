import type { Logger } from "@tq/core";
import { translateTransportOptions as translate } from "@tq/core";

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
 * Translates transport options from an app's configuration into broker or backend options (see core's
 * `translateTransportOptions`): tq's names pass, Celery's are renamed and converted, unknown ones are
 * reported once and ignored.
 */
export function translateTransportOptions(
  given: Readonly<Record<string, unknown>> | undefined,
  known: readonly string[],
  logger: Logger | undefined,
): Record<string, unknown> {
  return translate(given, { transport: "mongo", title: "MongoDB", known, celeryNames: CELERY_NAMES, logger });
}
