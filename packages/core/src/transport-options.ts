import { TqError } from "./errors.js";
import type { Logger } from "./logger.js";

/**
 * How one Celery (kombu) transport option maps onto a transport's own option: a rename, with `scale`
 * converting units (Celery's seconds × 1000 → tq's milliseconds), or a function for anything else.
 */
export type CeleryOptionMapping =
  | { readonly option: string; readonly scale?: number }
  | ((value: unknown) => Record<string, unknown>);

/** What {@link translateTransportOptions} needs to know about a transport. */
export interface TransportOptionsSpec {
  /** The component name of its errors, e.g. `"redis"` (`[tq] [redis] …`). */
  readonly transport: string;
  /** Its name in warnings, e.g. `"Redis"`; `transport` when unset. */
  readonly title?: string;
  /** The transport's own option names; they pass as they are. */
  readonly known: readonly string[];
  /** Celery's names for the same options (`visibility_timeout` → `visibilityTimeoutMs`…). */
  readonly celeryNames?: Readonly<Record<string, CeleryOptionMapping>>;
  /** Where options neither side knows are reported (once per call, at warn level). */
  readonly logger?: Logger | undefined;
}

/**
 * Translates an app's `brokerTransportOptions` / `resultBackendTransportOptions` into a transport's
 * options, so a Celery user's `broker_transport_options` work unchanged: the transport's own names pass
 * as they are, Celery's are renamed and converted. Options neither side knows are reported and
 * ignored rather than refused, since a Celery configuration often carries kombu settings
 * (`max_connections`, `socket_timeout`…) that the Node client handles differently.
 *
 * @throws TqError `TQ_CONFIG` when a Celery option that counts seconds is not a finite number.
 */
export function translateTransportOptions(
  given: Readonly<Record<string, unknown>> | undefined,
  spec: TransportOptionsSpec,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const ignored: string[] = [];
  for (const [key, value] of Object.entries(given ?? {})) {
    if (spec.known.includes(key)) {
      out[key] = value;
      continue;
    }
    const mapping = spec.celeryNames?.[key];
    if (typeof mapping === "function") {
      Object.assign(out, mapping(value));
    } else if (mapping && spec.known.includes(mapping.option)) {
      if (mapping.scale === undefined) {
        out[mapping.option] = value;
      } else if (typeof value === "number" && Number.isFinite(value)) {
        out[mapping.option] = value * mapping.scale;
      } else {
        throw new TqError("TQ_CONFIG", `transport option ${key} must be a number of seconds`, {
          component: spec.transport,
        });
      }
    } else {
      ignored.push(key);
    }
  }
  if (ignored.length > 0) {
    spec.logger?.warn(
      `ignoring transport options the ${spec.title ?? spec.transport} transport does not know`,
      {
        "tq.options": ignored.join(", "),
      },
    );
  }
  return out;
}
