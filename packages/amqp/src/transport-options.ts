/**
 * Celery (kombu) spellings of transport options, as a Celery user's `broker_transport_options` holds
 * them, mapped onto tq's names; everything else passes through to the broker, which validates it and
 * warns about names it does not know.
 */
export function translateTransportOptions(
  given: Readonly<Record<string, unknown>> | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(given ?? {})) {
    switch (key) {
      case "confirm_publish":
        out.noPublisherConfirms = value === false;
        break;
      case "connect_timeout":
        out.connectTimeoutMs = typeof value === "number" ? value * 1000 : value;
        break;
      case "max_priority":
        out.maxPriority = value;
        break;
      default:
        out[key] = value;
    }
  }
  return out;
}
