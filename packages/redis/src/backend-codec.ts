import { Buffer } from "node:buffer";
import { formatIsoDateTime, jsonSerializer, type TaskMeta, TqError, taskMetaProblem } from "@tq/core";

/**
 * Result documents on the wire: plain JSON objects, as Celery's `json` result serializer writes them.
 *
 * Values are encoded with core's {@link jsonSerializer}, the same rules task arguments follow: a
 * `Date` becomes an ISO string with `+00:00` (what kombu 5.2 writes for a `datetime`, read back as a
 * string), bytes become kombu's tagged `base64` value (read back as a `Uint8Array`). Decoding reads
 * kombu ≥5.3's tagged types (`datetime` → `Date`, `bytes`/`base64` → `Uint8Array`, `uuid`/`decimal`
 * → strings) and Python's `NaN`/`Infinity`. Separators are JSON.stringify's compact ones; Python's
 * `json.loads` does not care.
 */

/** Celery's field order: these first, then the rest as given, `task_id` last (`_store_result`). */
const LEADING_FIELDS = ["status", "result", "traceback", "children", "date_done"] as const;

/** Encodes a task's state document in Celery's field order. */
export function encodeTaskMeta(meta: TaskMeta): Buffer {
  const problem = taskMetaProblem(meta);
  if (problem !== undefined) throw serializationError(problem);
  const ordered: Record<string, unknown> = {
    status: meta.status,
    result: meta.result ?? null,
    traceback: meta.traceback ?? null,
    children: meta.children ?? [],
    date_done: meta.date_done ?? null,
  };
  for (const key of Object.keys(meta)) {
    if (key === "task_id" || (LEADING_FIELDS as readonly string[]).includes(key)) continue;
    ordered[key] = meta[key];
  }
  ordered.task_id = meta.task_id;
  return encodeJson(ordered);
}

/**
 * Decodes a stored document. Fields a Python writer may leave out are filled in (`task_id` from the
 * key, `traceback`/`date_done` null, `children` []); a tagged `date_done` is turned back into a string
 * (naive strings, as Celery 5.2 writes them, are kept as they are: they mean UTC).
 */
export function decodeTaskMeta(data: Uint8Array, taskId: string): TaskMeta {
  const value = decodeJson(data, `the result document of task ${taskId}`);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw serializationError(`the result document of task ${taskId} is not a JSON object`);
  }
  const meta = value as Record<string, unknown>;
  if (typeof meta.status !== "string") {
    throw serializationError(`the result document of task ${taskId} has no status`);
  }
  if (meta.task_id === undefined) meta.task_id = taskId;
  if (meta.result === undefined) meta.result = null;
  if (meta.traceback === undefined) meta.traceback = null;
  if (meta.children === undefined || meta.children === null) meta.children = [];
  if (meta.date_done instanceof Date) meta.date_done = formatIsoDateTime(meta.date_done);
  else if (meta.date_done === undefined) meta.date_done = null;
  return meta as TaskMeta;
}

/** Encodes any JSON value (group documents, chord members) with the same rules. */
export function encodeJson(value: unknown): Buffer {
  const bytes = jsonSerializer.encode(value);
  // A view on the same memory: ioredis sends Buffers as they are.
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes a JSON value with the same rules; `what` names it in the error. */
export function decodeJson(data: Uint8Array, what: string): unknown {
  try {
    return jsonSerializer.decode(data);
  } catch (error) {
    throw serializationError(`${what} is not valid JSON`, error);
  }
}

/** The status at the start of an encoded document, without decoding it; null when not found there. */
export function peekStatus(data: Uint8Array): string | null {
  // Celery and tq write "status" first; a few dozen bytes hold `{"status": "<STATE>"`.
  const head = Buffer.from(data.buffer, data.byteOffset, Math.min(data.byteLength, 96)).toString("latin1");
  return /^\{\s*"status"\s*:\s*"([^"\\]*)"/.exec(head)?.[1] ?? null;
}

/** A `TQ_SERIALIZATION` error of the Redis component. */
export function serializationError(message: string, cause?: unknown): TqError {
  return new TqError("TQ_SERIALIZATION", message, { component: "redis", cause });
}
