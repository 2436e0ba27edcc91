import {
  formatIsoDateTime,
  jsonSerializer,
  parseIsoDateTime,
  type TaskMeta,
  TqError,
  taskMetaProblem,
} from "@tq/core";
import { Binary } from "mongodb";
import { COMPONENT } from "./errors.js";

/**
 * A `celery_taskmeta` document as Celery's MongoDB backend writes it (`celery/backends/mongodb.py`,
 * `_store_result`): `_id` = task id, `status`, `result` encoded with the result serializer (a JSON
 * string), `traceback`, `children` and `date_done` (a BSON Date, Celery ≥ 5.3.4) as BSON values, then
 * `group_id`/`parent_id` and the extended fields (`name`, `args`, `kwargs`, `worker`, `retries`,
 * `queue`) when present. Two fields are tq's own, and Celery's reader ignores them:
 * `tq_expires_at` (the TTL index's field) and `tq_date_done` (the exact `date_done` string when a
 * Date cannot hold it, e.g. microseconds).
 */
export interface TaskMetaDocument {
  _id: string;
  status: string;
  result: unknown;
  traceback: string | null;
  children: unknown[];
  date_done: Date | string | null;
  tq_date_done?: string;
  tq_expires_at?: Date;
  [key: string]: unknown;
}

/** The fields tq adds to Celery's documents. */
export const TQ_FIELDS = ["tq_date_done", "tq_expires_at"] as const;

const LEADING_FIELDS = new Set(["task_id", "status", "result", "traceback", "children", "date_done", "_id"]);

/** Builds the document Celery's MongoDB backend would write for `meta`. */
export function encodeTaskMeta(meta: TaskMeta, expiresAt: Date | null): TaskMetaDocument {
  const problem = taskMetaProblem(meta);
  if (problem !== undefined) throw serializationError(problem);
  const document: TaskMetaDocument = {
    _id: meta.task_id,
    status: meta.status,
    result: encodeValue(meta.result ?? null),
    traceback: meta.traceback ?? null,
    children: meta.children ?? [],
    date_done: null,
  };
  if (typeof meta.date_done === "string") {
    const date = parseIsoDateTime(meta.date_done);
    if (date) {
      document.date_done = date;
      if (formatIsoDateTime(date) !== meta.date_done) document.tq_date_done = meta.date_done;
    } else {
      document.date_done = meta.date_done;
    }
  }
  for (const [key, value] of Object.entries(meta)) {
    if (LEADING_FIELDS.has(key) || value === undefined) continue;
    if ((TQ_FIELDS as readonly string[]).includes(key)) continue;
    document[key] = value;
  }
  if (expiresAt) document.tq_expires_at = expiresAt;
  return document;
}

/** Reads a stored document (tq's or a Python Celery backend's) back into a {@link TaskMeta}. */
export function decodeTaskMeta(document: TaskMetaDocument): TaskMeta {
  const taskId = String(document._id);
  if (typeof document.status !== "string") {
    throw serializationError(`the result document of task ${taskId} has no status`);
  }
  const meta: TaskMeta = {
    task_id: taskId,
    status: document.status,
    result: decodeValue(document.result, `the result of task ${taskId}`),
    traceback: document.traceback ?? null,
    children: Array.isArray(document.children) ? document.children : [],
    date_done: dateDoneOf(document),
  };
  for (const [key, value] of Object.entries(document)) {
    if (LEADING_FIELDS.has(key) || (TQ_FIELDS as readonly string[]).includes(key)) continue;
    meta[key] = value;
  }
  return meta;
}

/** Encodes a value as Celery's `json` result serializer does: a JSON string. */
export function encodeValue(value: unknown): string {
  return new TextDecoder().decode(jsonSerializer.encode(value));
}

/**
 * Decodes a value Celery encoded: a JSON string (the `json` serializer); a BSON value as it is (the
 * `bson` serializer, where MongoDB stores the value itself). Binary (`pickle`, `msgpack`) is refused.
 */
export function decodeValue(value: unknown, what: string): unknown {
  if (typeof value === "string") {
    try {
      return jsonSerializer.decode(new TextEncoder().encode(value));
    } catch (cause) {
      throw serializationError(`${what} is not valid JSON`, cause);
    }
  }
  if (value instanceof Binary) {
    throw serializationError(
      `${what} is stored as binary (a pickle or msgpack result serializer); tq reads the json serializer's strings`,
    );
  }
  return value ?? null;
}

function dateDoneOf(document: TaskMetaDocument): string | null {
  const { date_done: dateDone, tq_date_done: exact } = document;
  if (dateDone instanceof Date) {
    // The exact string tq kept, unless the document was rewritten since (by Celery) with another date.
    if (typeof exact === "string" && parseIsoDateTime(exact)?.getTime() === dateDone.getTime()) return exact;
    return formatIsoDateTime(dateDone);
  }
  return typeof dateDone === "string" ? dateDone : null;
}

/** A `TQ_SERIALIZATION` error of this component. */
export function serializationError(message: string, cause?: unknown): TqError {
  return new TqError("TQ_SERIALIZATION", message, { component: COMPONENT, cause });
}
