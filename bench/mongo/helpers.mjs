// Helpers the parent side of every MongoDB peer uses: the bench's client and clean-up, tq's exact
// message document, windowed enqueue and round trips within a time budget.
import { buildTaskMessage, jsonSerializer } from "@tq/core";
import { Binary, ObjectId } from "mongodb";
import { enqueueWindowed as enqueueWindowedWith } from "../redis/helpers.mjs";
import { mongoClient } from "./connect.mjs";
import { settings } from "./settings.mjs";

export { mongoClient };

/** Drops every database of the stand-in: it is the bench's own, so nothing else is touched. */
export async function dropAllDatabases() {
  const client = mongoClient();
  try {
    const { databases } = await client.db("admin").admin().listDatabases({ nameOnly: true });
    const ours = databases
      .map((db) => db.name)
      .filter((name) => !["admin", "config", "local"].includes(name));
    await Promise.all(ours.map((name) => client.db(name).dropDatabase()));
  } finally {
    await client.close();
  }
}

/** Counts the documents of `database.collection` matching `filter`. */
export async function countDocuments(database, collection, filter = {}) {
  const client = mongoClient();
  try {
    return await client.db(database).collection(collection).countDocuments(filter);
  } finally {
    await client.close();
  }
}

/** The server's `buildInfo`: its version and whether it is the stand-in. */
export async function serverInfo() {
  const client = mongoClient();
  try {
    const info = await client.db("admin").command({ buildInfo: 1 });
    return { version: info.version, standIn: info.tqMongoTestServer === true };
  } finally {
    await client.close();
  }
}

/**
 * A fresh document as @tq/mongo's MongoBroker inserts it for one `bench.noop(i)` task (README
 * "Message documents"): the Celery protocol 2 message's headers and properties as BSON documents, its
 * body as Binary, plus the claim fields. The raw ceiling inserts exactly these.
 */
export function tqMessageDocument(queue) {
  const message = buildTaskMessage(
    { id: "0f4a7bd2-8c55-4c1e-9d3e-5b6a3c2d1e0f", task: "bench.noop", args: [12345], kwargs: {} },
    jsonSerializer,
  );
  return {
    _id: new ObjectId(),
    queue,
    priority: 0,
    visibleAt: new Date(),
    owner: null,
    deadline: null,
    deliveries: 0,
    payload: {
      headers: message.headers,
      properties: message.properties,
      contentType: message.contentType,
      contentEncoding: message.contentEncoding,
      body: new Binary(message.body),
    },
  };
}

/** Publishes `count` items `settings.window` at a time with `send(i)` (returns a promise); elapsed ms. */
export function enqueueWindowed(count, send, windowSize = settings.window) {
  return enqueueWindowedWith(count, send, windowSize);
}

/**
 * Times sequential `roundTrip(i)` calls after `settings.warmup` untimed ones, until
 * `settings.roundTrips` are timed or `settings.roundTripBudgetMs` has passed; latencies in ms.
 */
export async function timeRoundTrips(roundTrip) {
  for (let i = 0; i < settings.warmup; i++) await roundTrip(i);
  const latencies = [];
  const until = performance.now() + settings.roundTripBudgetMs;
  while (latencies.length < settings.roundTrips && performance.now() < until) {
    const start = performance.now();
    await roundTrip(settings.warmup + latencies.length);
    latencies.push(performance.now() - start);
  }
  return latencies;
}
