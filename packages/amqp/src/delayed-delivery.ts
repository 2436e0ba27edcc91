import { TqError } from "@tq/core";
import type { Channel } from "amqplib";

/**
 * Celery ≥ 5.5's "native delayed delivery" on RabbitMQ (kombu's `transport/native_delayed_delivery.py`),
 * declared with the same names, types and arguments so that tq and Celery processes share one topology:
 *
 * - 28 topic exchanges `celery_delayed_27` … `celery_delayed_0`, and beside each a queue of the same
 *   name with `x-message-ttl = 2^N s` whose dead-letter exchange is the next level down
 *   (`celery_delayed_0` dead-letters to `celery_delayed_delivery`).
 * - The routing key of a delayed message is the delay in whole seconds as 28 binary digits, most
 *   significant first, each followed by `.`, then the target's routing key: 5 s to `celery` is
 *   `0.0.…0.1.0.1.celery`. Level N's exchange sends the message into its queue (to wait 2^N s) when
 *   digit N is 1 (binding `*.…*.1.#`, 27 − N stars), or straight on to level N − 1 when it is 0
 *   (exchange-to-exchange binding `*.…*.0.#`), so a message waits exactly the sum of its set bits.
 * - `celery_delayed_delivery` (topic) finally routes it by the original routing key: target queues are
 *   bound to it with `#.<routing key>`.
 *
 * A message enters through {@link DELAYED_EXCHANGE} (Celery's choice) or, equivalently and much
 * cheaper for RabbitMQ, the level of its delay's highest set bit ({@link delayedPublishTarget}).
 * Dead-lettering keeps the routing key and adds RabbitMQ's `x-death` headers; the body, the other
 * headers and the properties arrive unchanged.
 *
 * Operational hazard (kombu's design, shared by Celery): the quorum levels dead-letter
 * at-least-once, so a delayed message that finds no queue when it leaves the levels (its target
 * queue was deleted meanwhile) is kept and retried by RabbitMQ — and the level's dead-letter worker,
 * stuck on it, holds back every later message of that level for the whole vhost (measured: ~3 min
 * per retry round on RabbitMQ 3.10, logged once as "Cannot forward any dead-letter messages"). Do
 * not delete a queue while delayed messages for it are on their way; to unblock a vhost, bind a
 * throwaway queue to `celery_delayed_delivery` with `#` until the levels drain.
 */

/** Number of levels (binary digits of the delay in seconds). */
export const DELAYED_LEVELS = 28;
/** The exchange a delayed message is published to (the top level). */
export const DELAYED_EXCHANGE = "celery_delayed_27";
/** The exchange delayed messages leave through; target queues bind to it with `#.<routing key>`. */
export const DELAYED_DELIVERY_EXCHANGE = "celery_delayed_delivery";
/** The longest delay the levels can express: 2^28 − 1 s, about 8.5 years. */
export const MAX_DELAY_SECONDS = 2 ** DELAYED_LEVELS - 1;

// The prefix delayedRoutingKey() adds; stripped first so a message delayed again keeps one prefix
// (kombu does the same since celery/kombu#2556, where prefixes piled up past AMQP's 255-byte limit).
const DELAY_PREFIX = new RegExp(`^(?:[01]\\.){${DELAYED_LEVELS}}`);
const MAX_ROUTING_KEY_BYTES = 255;

/** Options of {@link declareDelayedTopology}. */
export interface DelayedTopologyOptions {
  /**
   * Type of the 28 level queues. Must match how they were first declared on the vhost (RabbitMQ
   * refuses a redeclaration with other arguments). Celery: `broker_native_delayed_delivery_queue_type`.
   * @default "quorum"
   */
  queueType?: "quorum" | "classic";
}

/** The exchange and queue name of a level, `celery_delayed_<level>` (kombu's `level_name`). */
export function delayedLevelName(level: number): string {
  if (!Number.isInteger(level) || level < 0 || level >= DELAYED_LEVELS) {
    throw configError(`a delayed-delivery level is an integer from 0 to ${DELAYED_LEVELS - 1}, got ${level}`);
  }
  return `celery_delayed_${level}`;
}

/**
 * Declares the 28 levels and the delivery exchange exactly as kombu ≥ 5.5 does. Idempotent: run it at
 * every start, from any number of processes. The exchanges and queues are global to the vhost, shared
 * with Celery and other tq processes, and are never deleted by tq.
 *
 * Needs RabbitMQ ≥ 3.10 for the default quorum queues (message TTL and at-least-once dead-lettering
 * on quorum queues arrived in 3.10). If the levels already exist with other arguments (e.g. declared
 * as classic queues by a Celery configured so), RabbitMQ closes the channel with PRECONDITION_FAILED
 * and this rejects with `TQ_CONFIG`: pass the matching `queueType`, and use a channel of its own.
 */
export async function declareDelayedTopology(
  channel: Channel,
  options: DelayedTopologyOptions = {},
): Promise<void> {
  const queueType = options.queueType ?? "quorum";
  try {
    for (let level = DELAYED_LEVELS - 1; level >= 0; level -= 1) {
      const name = delayedLevelName(level);
      await channel.assertExchange(name, "topic", { durable: true, autoDelete: false });
      await channel.assertQueue(name, { durable: true, arguments: levelQueueArguments(level, queueType) });
      await channel.bindQueue(name, name, bitPattern(level, "1"));
    }
    // A zero digit skips the level's queue: the message goes straight to the level below.
    for (let level = DELAYED_LEVELS - 1; level >= 1; level -= 1) {
      await channel.bindExchange(
        delayedLevelName(level - 1),
        delayedLevelName(level),
        bitPattern(level, "0"),
      );
    }
    await channel.assertExchange(DELAYED_DELIVERY_EXCHANGE, "topic", { durable: true, autoDelete: false });
    await channel.bindExchange(DELAYED_DELIVERY_EXCHANGE, delayedLevelName(0), bitPattern(0, "0"));
  } catch (error) {
    throw new TqError(
      "TQ_CONFIG",
      `could not declare the delayed-delivery topology (celery_delayed_*) as ${queueType} queues; if they exist with other arguments, set the matching queue type`,
      { component: "amqp", cause: error },
    );
  }
}

/**
 * Lets delayed messages for `routingKey` reach `queue`: binds the queue to `celery_delayed_delivery`
 * with `#.<routingKey>` (or `routingKey` itself when it starts with `#`, as kombu does). Idempotent.
 * A queue bound this way also receives delayed messages whose routing key merely ends with
 * `.<routingKey>` (topic matching: `#` takes any words), as in Celery.
 */
export async function bindQueueForDelayedDelivery(
  channel: Channel,
  queue: string,
  routingKey: string,
): Promise<void> {
  if (routingKey === "") throw configError("delayed delivery needs a non-empty routing key");
  const pattern = routingKey.startsWith("#") ? routingKey : `#.${routingKey}`;
  // Declared here too (idempotent) so binding never fails on a vhost where the topology is missing.
  await channel.assertExchange(DELAYED_DELIVERY_EXCHANGE, "topic", { durable: true, autoDelete: false });
  await channel.bindQueue(queue, DELAYED_DELIVERY_EXCHANGE, pattern);
}

/**
 * The routing key that delays a message for `routingKey` by `delayMs`, to publish to
 * {@link DELAYED_EXCHANGE}: kombu's `calculate_routing_key`. The delay is rounded UP to whole
 * seconds, so a message never arrives early (kombu truncates; the Celery worker then waits out the
 * rest). A delay of 0 or less routes straight through (all digits 0). Delays above
 * {@link MAX_DELAY_SECONDS} (about 8.5 years) are capped there: such a message arrives before its
 * ETA, and the tq worker hands it back again rather than run it early. A delayed-delivery prefix
 * already on `routingKey` is replaced, not doubled.
 */
export function delayedRoutingKey(delayMs: number, routingKey: string): string {
  const key = routingKey.replace(DELAY_PREFIX, "");
  if (key === "") throw configError("delayed delivery needs a non-empty routing key");
  const seconds = delaySeconds(delayMs);
  const digits = seconds.toString(2).padStart(DELAYED_LEVELS, "0");
  const result = `${[...digits].join(".")}.${key}`;
  if (Buffer.byteLength(result) > MAX_ROUTING_KEY_BYTES) {
    throw configError(
      `routing key "${key}" is too long for delayed delivery: with the ${DELAYED_LEVELS * 2}-byte delay prefix it passes AMQP's ${MAX_ROUTING_KEY_BYTES}-byte limit`,
    );
  }
  return result;
}

/**
 * Where to publish a message delayed by `delayMs` for `routingKey`: the same routing key as
 * {@link delayedRoutingKey}, but sent to the level of the delay's highest set bit
 * (`celery_delayed_<⌊log2 s⌋>`, or `celery_delayed_delivery` for 0 s) instead of
 * {@link DELAYED_EXCHANGE}. The message takes exactly the path it would take from the top, since the
 * levels above only pass a 0 digit on; it skips up to 27 exchange-to-exchange hops, each of which
 * costs RabbitMQ a topic match (≈ 0.15 ms on the test machine: 2.4 ms per message from the top for a
 * 5 s delay, 0.2 ms from `celery_delayed_2`). Celery consumers see no difference.
 */
export function delayedPublishTarget(
  delayMs: number,
  routingKey: string,
): { exchange: string; routingKey: string } {
  const key = delayedRoutingKey(delayMs, routingKey);
  const seconds = delaySeconds(delayMs);
  const exchange = seconds === 0 ? DELAYED_DELIVERY_EXCHANGE : delayedLevelName(31 - Math.clz32(seconds));
  return { exchange, routingKey: key };
}

/** Whole seconds of a delay: rounded up, at least 0, at most {@link MAX_DELAY_SECONDS}. */
function delaySeconds(delayMs: number): number {
  if (Number.isNaN(delayMs)) throw configError("the delay of a delayed message must be a number, got NaN");
  return Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(delayMs / 1000)));
}

/** The arguments kombu declares each level queue with. */
function levelQueueArguments(level: number, queueType: "quorum" | "classic"): Record<string, unknown> {
  const args: Record<string, unknown> = {
    "x-queue-type": queueType,
    "x-overflow": "reject-publish",
    "x-message-ttl": 2 ** level * 1000,
    "x-dead-letter-exchange": level > 0 ? delayedLevelName(level - 1) : DELAYED_DELIVERY_EXCHANGE,
  };
  // Quorum queues can dead-letter at-least-once (needs reject-publish); classic ones cannot.
  if (queueType === "quorum") args["x-dead-letter-strategy"] = "at-least-once";
  return args;
}

/** The binding that matches digit `level` equal to `digit`: `27 − level` stars, then `<digit>.#`. */
function bitPattern(level: number, digit: "0" | "1"): string {
  return `${"*.".repeat(DELAYED_LEVELS - 1 - level)}${digit}.#`;
}

function configError(message: string): TqError {
  return new TqError("TQ_CONFIG", message, { component: "amqp" });
}
