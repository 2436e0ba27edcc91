import { type Broker, type ResultBackend, redactUrl, schemeOf } from "@tq/core";
import { isInProcess } from "./shared-transport.js";

/** What the worker banner shows. */
export interface BannerInfo {
  /** Worker node name, e.g. `celery@host`. */
  nodeName: string;
  /** Version of `@tq/cli`. */
  version: string;
  /** The app's name. */
  appName: string;
  /** The broker, as {@link describeTransport} names it. */
  transport: string;
  /** The result backend, as {@link describeTransport} names it, or null when results are off. */
  results: string | null;
  /** True when the broker is the in-memory one, which only this process can reach. */
  inProcessBroker: boolean;
  /** Tasks run at once (the autoscale maximum). */
  concurrency: number;
  /** Where tasks run: `async`, `solo`, `threads` or `processes`. @default "async" */
  pool?: string;
  /** `[max, min]` when the worker autoscales. */
  autoscale?: readonly [number, number] | null;
  /** Queues consumed. */
  queues: readonly string[];
  /** Registered task names. */
  tasks: readonly string[];
}

/**
 * The start-up banner, laid out as Celery's so that people who run Celery workers find each line where
 * they expect it.
 */
export function workerBanner(info: BannerInfo): string {
  const config = [
    `.> app:         ${info.appName}`,
    `.> transport:   ${info.transport}`,
    `.> results:     ${info.results ?? "disabled"}`,
    `.> concurrency: ${concurrencyText(info)} (${info.pool ?? "async"})`,
    `.> runtime:     Node.js ${process.version} on ${process.platform}-${process.arch}`,
  ];
  const logo = [
    "- ** ----------",
    "- ** ----------",
    "- ** ----------",
    "- *** --- * ---",
    "-- ******* ----",
  ];
  const lines = [
    "",
    ` -------------- ${info.nodeName} v${info.version} (tq)`,
    "--- ***** -----",
    "-- ******* ----",
    "- *** --- * ---",
    "- ** ---------- [config]",
    ...config.map((line, index) => `${logo[index] ?? "- ** ----------"} ${line}`),
    "--- ***** -----",
    " -------------- [queues]",
    ...info.queues.map((queue) => `                .> ${queue}`),
    "",
    "[tasks]",
    ...(info.tasks.length === 0
      ? ["  (none registered)"]
      : [...info.tasks].sort().map((name) => `  . ${name}`)),
    "",
  ];
  if (info.inProcessBroker) {
    lines.push(
      "note: the broker is memory://, so only tasks sent from inside this process reach this worker.",
      "",
    );
  }
  return lines.join("\n");
}

// As Celery prints it: "4 (prefork)", or "{min=2, max=10} (prefork)" when autoscaling.
function concurrencyText(info: BannerInfo): string {
  if (!info.autoscale) return String(info.concurrency);
  const [max, min] = info.autoscale;
  return `{min=${min}, max=${max}}`;
}

/**
 * How the banner names a broker or backend: its URL with the password hidden, or, when the app was given
 * an instance (its configured URL then still says memory://), the instance's class.
 */
export function describeTransport(url: string, instance: Broker | ResultBackend): string {
  if (schemeOf(url) === "memory" && !isInProcess(instance)) return `${instance.constructor.name} (instance)`;
  return redactUrl(url);
}
