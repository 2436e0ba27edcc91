import { Buffer } from "node:buffer";
import { jsonSerializer, type TaskMeta, taskMetaProblem } from "@tq/core";
import { rpcError } from "./rpc-errors.js";

/**
 * Result messages of the rpc:// backend, as Celery's `RPCBackend._to_result` builds them: a JSON
 * object with exactly `task_id`, `status`, `result`, `traceback` and `children`, in that order (no
 * `date_done`, no extended fields: Celery sends none). Values are encoded with core's
 * {@link jsonSerializer}, the rules task arguments follow; decoding reads kombu ≥5.3's tagged types
 * and Python's `NaN`/`Infinity`.
 */

/** The AMQP properties every result message carries, as kombu sends them for Celery. */
export const REPLY_CONTENT_TYPE = "application/json";
export const REPLY_CONTENT_ENCODING = "utf-8";

/** Encodes a state as Celery's rpc backend sends it. */
export function encodeReply(meta: TaskMeta): Buffer {
  const problem = taskMetaProblem(meta, "result");
  if (problem !== undefined) throw serializationError(problem);
  const bytes = jsonSerializer.encode({
    task_id: meta.task_id,
    status: meta.status,
    result: meta.result ?? null,
    traceback: meta.traceback ?? null,
    children: meta.children ?? [],
  });
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** What a result message says about itself, besides its body. */
export interface ReplyProperties {
  contentType?: string | undefined;
  contentEncoding?: string | undefined;
  correlationId?: string | undefined;
}

/**
 * Decodes a result message into a state document. The task id is the body's `task_id` (Celery's
 * `on_state_change` reads it there), else the `correlation_id` (how Celery's polling path names
 * messages). Missing fields are filled in: `traceback` and `date_done` null, `children` [].
 * Anything but JSON is refused, as Celery's default `accept_content` refuses it.
 */
export function decodeReply(content: Uint8Array, properties: ReplyProperties): TaskMeta {
  const contentType = properties.contentType ?? REPLY_CONTENT_TYPE;
  if (contentType !== REPLY_CONTENT_TYPE) {
    throw serializationError(`a result message has content type "${contentType}"; only JSON is accepted`);
  }
  let value: unknown;
  try {
    value = jsonSerializer.decode(content);
  } catch (error) {
    throw serializationError("a result message is not valid JSON", error);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw serializationError("a result message is not a JSON object");
  }
  const meta = value as Record<string, unknown>;
  if (typeof meta.status !== "string") throw serializationError("a result message has no status");
  if (typeof meta.task_id !== "string" || meta.task_id === "") {
    if (!properties.correlationId) throw serializationError("a result message names no task id");
    meta.task_id = properties.correlationId;
  }
  if (meta.result === undefined) meta.result = null;
  if (meta.traceback === undefined) meta.traceback = null;
  if (meta.children === undefined || meta.children === null) meta.children = [];
  if (meta.date_done === undefined) meta.date_done = null;
  return meta as TaskMeta;
}

function serializationError(message: string, cause?: unknown) {
  return rpcError("TQ_SERIALIZATION", message, cause);
}
