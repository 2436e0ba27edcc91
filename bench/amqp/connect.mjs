// The bench's own amqplib connections (the ceiling's and the clean-up's), kept apart from helpers.mjs
// so the ceiling's worker process loads amqplib and nothing of tq.
import amqplib from "amqplib";
import { settings } from "./settings.mjs";

/**
 * An amqplib connection to the bench vhost; the caller closes it. TCP_NODELAY is on: with Nagle's
 * algorithm a second small frame (a reply right after an ack) waits for the server's delayed ACK, ~40 ms.
 */
export function connectAmqp(name = "tq-bench") {
  return amqplib.connect(settings.url, { noDelay: true, clientProperties: { connection_name: name } });
}
