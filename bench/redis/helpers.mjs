// Helpers the parent side of every peer uses: the bench DB, the payload, windowed enqueue, round trips.
import { buildTaskMessage, encodeEnvelope, jsonSerializer } from "@tq/core";
import { Redis } from "ioredis";
import { settings } from "./settings.mjs";

/** A plain client on the bench URL; the caller closes it. */
export function benchClient() {
  return new Redis(settings.url, { maxRetriesPerRequest: null, lazyConnect: false });
}

/** Empties the bench DB (FLUSHDB on the URL's DB only). */
export async function flushBenchDb() {
  const client = benchClient();
  try {
    await client.flushdb();
  } finally {
    client.disconnect();
  }
}

/** Counts keys matching `pattern` with SCAN (used once per run to check every result was stored). */
export async function countKeys(pattern) {
  const client = benchClient();
  try {
    let cursor = "0";
    let count = 0;
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 5_000);
      cursor = next;
      count += keys.length;
    } while (cursor !== "0");
    return count;
  } finally {
    client.disconnect();
  }
}

/**
 * The exact string tq's broker stores for one `bench.noop(i)` task: a kombu JSON envelope around a
 * Celery protocol 2 message. The raw ceiling pushes this so it moves the same bytes as tq.
 */
export function tqEnvelope(queue) {
  const message = buildTaskMessage(
    { id: "0f4a7bd2-8c55-4c1e-9d3e-5b6a3c2d1e0f", task: "bench.noop", args: [12345], kwargs: {} },
    jsonSerializer,
  );
  return encodeEnvelope(message, {
    exchange: "",
    routingKey: queue,
    deliveryTag: "5d6c7b8a-9e0f-4a1b-8c2d-3e4f5a6b7c8d",
  });
}

/** Publishes `count` items `windowSize` at a time with `send(i)` (returns a promise); elapsed ms. */
export async function enqueueWindowed(count, send, windowSize = settings.window) {
  const start = performance.now();
  for (let base = 0; base < count; base += windowSize) {
    const pending = [];
    for (let i = base; i < Math.min(count, base + windowSize); i++) pending.push(send(i));
    await Promise.all(pending);
  }
  return performance.now() - start;
}

/** Times `count` sequential `roundTrip(i)` calls after `warmup` untimed ones; latencies in ms. */
export async function timeRoundTrips(roundTrip, count = settings.roundTrips, warmup = settings.warmup) {
  const latencies = [];
  for (let i = 0; i < warmup + count; i++) {
    const start = performance.now();
    await roundTrip(i);
    if (i >= warmup) latencies.push(performance.now() - start);
  }
  return latencies;
}
