import { schemeOf, TqError, type TransportFactoryOptions, type TransportPlugin } from "@tq/core";
import { AmqpBroker } from "./broker.js";
import { RpcBackend } from "./rpc-backend.js";
import { translateTransportOptions } from "./transport-options.js";

const AMQP_SCHEMES = new Set(["amqp", "amqps", "pyamqp"]);

/** kombu's `pyamqp://` names the same server as `amqp://`. */
function normalize(url: string): string {
  return url.replace(/^pyamqp:\/\//i, "amqp://");
}

/**
 * The AMQP transport plugin: `amqp://`, `amqps://` and kombu's `pyamqp://` URLs as brokers, and
 * `rpc://` as the result backend that sends results back to the caller over the broker's server
 * (as Celery's). Register it with `registerTransport(amqpTransport)` or pass it in
 * `createApp({ transports: [amqpTransport] })`; the `tq` CLI loads it by itself for these URLs.
 */
export const amqpTransport: TransportPlugin = Object.freeze({
  name: "amqp",
  schemes: Object.freeze(["amqp", "amqps", "pyamqp", "rpc"]),
  createBroker: (url: string, options: TransportFactoryOptions) => {
    if (schemeOf(url) === "rpc") {
      throw new TqError("TQ_CONFIG", "rpc:// is a result backend, not a broker; use amqp:// for the broker", {
        component: "amqp",
      });
    }
    return new AmqpBroker({
      ...translateTransportOptions(options.transportOptions),
      url: normalize(url),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  },
  createBackend: (url: string, options: TransportFactoryOptions) => {
    if (schemeOf(url) !== "rpc") {
      throw new TqError(
        "TQ_CONFIG",
        `${schemeOf(url)}:// is not a result backend (Celery 5 removed the amqp backend); use rpc:// to get results over RabbitMQ`,
        { component: "amqp" },
      );
    }
    // rpc:// names no server: results travel through the broker's (Celery's rule). An rpc://host URL
    // names one explicitly.
    const explicit = url.replace(/^rpc:\/\//i, "");
    const server = explicit !== "" && explicit !== "/" ? `amqp://${explicit}` : options.brokerUrl;
    if (server === undefined || !AMQP_SCHEMES.has(schemeOf(server))) {
      throw new TqError(
        "TQ_CONFIG",
        `rpc:// sends results over an AMQP broker, but the broker is ${server === undefined ? "not set" : `${schemeOf(server)}://`}; use an amqp:// broker or another result backend`,
        { component: "amqp" },
      );
    }
    return new RpcBackend({
      ...(options.resultExpiresMs === undefined ? {} : { resultExpiresMs: options.resultExpiresMs }),
      ...translateTransportOptions(options.transportOptions),
      url: normalize(server),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  },
});
