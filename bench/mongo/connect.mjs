// The bench's own MongoDB clients and the document layouts tq uses, kept apart from helpers.mjs so the
// ceiling's worker process loads the driver and nothing of tq.
import { MongoClient } from "mongodb";
import { mongoUrl } from "./settings.mjs";

/** A client on the stand-in; the caller closes it. */
export function mongoClient() {
  return new MongoClient(mongoUrl(), { serverSelectionTimeoutMS: 5_000 });
}

/** The id every result document of the ceiling is keyed by, as tq keys them by task id. */
export function resultId(sequence) {
  return `0f4a7bd2-8c55-4c1e-9d3e-${String(sequence).padStart(12, "0")}`;
}

/**
 * The `celery_taskmeta` document @tq/mongo's MongoBackend writes for a `bench.noop` success (Celery's
 * layout, `result` JSON-encoded, the TTL field tq adds), and the filter of that write: a stored
 * SUCCESS is never replaced.
 */
export function resultWrite(id, now = new Date()) {
  return {
    filter: { _id: id, $or: [{ status: { $ne: "SUCCESS" } }, { tq_expires_at: { $lte: now } }] },
    document: {
      _id: id,
      status: "SUCCESS",
      result: "null",
      traceback: null,
      children: [],
      date_done: now,
      tq_expires_at: new Date(now.getTime() + 86_400_000),
    },
  };
}
