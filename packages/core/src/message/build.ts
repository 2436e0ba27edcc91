/**
 * Builds Celery protocol v2 task messages, byte-compatible in shape with what Celery's
 * `app.amqp.as_task_v2` produces (celery-protocol.md §1.1).
 */
import { TqError } from "../errors.js";
import { formatIsoDateTime } from "../iso-date.js";
import { anonNodeName } from "../node-name.js";
import { argsRepr, kwargsRepr } from "../python-repr.js";
import type { Serializer } from "../serializer.js";
import type { MessageEmbed, MessageProperties, TimeLimit, TransportMessage } from "./types.js";

/**
 * The protocol v2 headers, in the order Celery writes them. {@link buildTaskMessage} refuses custom
 * headers with these names (and `compression`); filter them out when passing received headers on.
 */
export const PROTOCOL_HEADERS = Object.freeze([
  "lang",
  "task",
  "id",
  "shadow",
  "eta",
  "expires",
  "group",
  "group_index",
  "retries",
  "timelimit",
  "root_id",
  "parent_id",
  "argsrepr",
  "kwargsrepr",
  "origin",
  "ignore_result",
] as const);

const RESERVED_HEADERS: ReadonlySet<string> = new Set<string>([...PROTOCOL_HEADERS, "compression"]);

/** What a task message is made of; everything but the id, name and arguments has Celery's default. */
export interface BuildTaskMessageInput {
  /** Task id (a uuid). */
  id: string;
  /** Registered task name. */
  task: string;
  /** Positional arguments. */
  args: readonly unknown[];
  /** Keyword arguments. */
  kwargs: Readonly<Record<string, unknown>>;
  /** Callbacks, errbacks, chain and chord; missing keys are sent as null. */
  embed?: Partial<MessageEmbed> | null;
  /** Id of the workflow's first task. @default id */
  rootId?: string | null;
  /** Id of the task that sends this one. @default null */
  parentId?: string | null;
  /** Group id (Celery's `group`). @default null */
  group?: string | null;
  /** Position in a chord header (Celery's `group_index`). @default null */
  groupIndex?: number | null;
  /** Alias name used in logs (Celery's `shadow`). @default null */
  shadow?: string | null;
  /** Not before this time (Celery's `eta`; a `countdown` is converted to it by the caller). @default null */
  eta?: Date | null;
  /** Not after this time (Celery's `expires`); also sets the `expiration` property. @default null */
  expires?: Date | null;
  /** Retries so far. @default 0 */
  retries?: number;
  /** `[hard, soft]` seconds (Celery's `time_limit`, `soft_time_limit`). @default [null, null] */
  timeLimit?: TimeLimit;
  /** Sender node name. @default `gen<pid>@<hostname>`, Celery's `anon_nodename()` */
  origin?: string;
  /** Ask the worker not to store a result (Celery's `ignore_result`). @default false */
  ignoreResult?: boolean;
  /** Reply queue for the `rpc://` backend (Celery's `reply_to`). @default "" */
  replyTo?: string;
  /** Message priority (Celery's `priority`). @default 0 */
  priority?: number;
  /** Printable args for logs, e.g. to hide secrets (Celery's `argsrepr`). @default Python repr of args */
  argsrepr?: string;
  /** Printable kwargs for logs (Celery's `kwargsrepr`). @default Python repr of kwargs */
  kwargsrepr?: string;
  /** Custom headers, added after Celery's, as `apply_async(headers=…)` does. */
  headers?: Readonly<Record<string, unknown>>;
}

/**
 * Builds a protocol v2 task message: Celery's headers in Celery's order (`lang` is `"js"`) followed by
 * the custom ones, properties `correlation_id`, `reply_to`, `delivery_mode: 2`, `priority` and, only
 * when `expires` is set, `expiration` (milliseconds from now, as a string), and the body
 * `[args, kwargs, embed]` encoded by `serializer`. Dates are written as `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`.
 * @throws TqError `TQ_MESSAGE_INVALID` for an invalid input (empty id, a custom header that would replace
 *   a protocol header, an invalid date…), `TQ_SERIALIZATION` when the serializer cannot encode the body.
 */
export function buildTaskMessage(input: BuildTaskMessageInput, serializer: Serializer): TransportMessage {
  const { id, task, args, kwargs } = input;
  if (typeof id !== "string" || id === "") throw invalid(`task id must be a non-empty string`);
  if (typeof task !== "string" || task === "") throw invalid(`task name must be a non-empty string`);
  if (!Array.isArray(args)) throw invalid(`args of ${task} must be an array`);
  if (typeof kwargs !== "object" || kwargs === null || Array.isArray(kwargs)) {
    throw invalid(`kwargs of ${task} must be an object`);
  }
  const retries = input.retries ?? 0;
  if (!Number.isSafeInteger(retries) || retries < 0) throw invalid(`retries must be a non-negative integer`);
  const groupIndex = input.groupIndex ?? null;
  if (groupIndex !== null && (!Number.isSafeInteger(groupIndex) || groupIndex < 0)) {
    throw invalid(`groupIndex must be a non-negative integer or null`);
  }
  const priority = input.priority ?? 0;
  if (!Number.isSafeInteger(priority) || priority < 0 || priority > 255) {
    throw invalid(`priority must be an integer from 0 to 255`);
  }
  const timeLimit: TimeLimit = input.timeLimit ?? [null, null];
  for (const limit of timeLimit) {
    if (limit !== null && !(Number.isFinite(limit) && limit >= 0)) {
      throw invalid(`timeLimit must be [hard, soft] seconds, each a non-negative number or null`);
    }
  }
  const custom = input.headers ?? {};
  for (const name of Object.keys(custom)) {
    if (RESERVED_HEADERS.has(name)) {
      throw invalid(
        `custom header "${name}" would replace a protocol header; use the matching option instead`,
      );
    }
  }

  const headers: Record<string, unknown> = {
    lang: "js",
    task,
    id,
    shadow: input.shadow ?? null,
    eta: isoOrNull(input.eta, "eta"),
    expires: isoOrNull(input.expires, "expires"),
    group: input.group ?? null,
    group_index: groupIndex,
    retries,
    timelimit: [timeLimit[0], timeLimit[1]],
    root_id: input.rootId ?? id,
    parent_id: input.parentId ?? null,
    argsrepr: input.argsrepr ?? argsRepr(args),
    kwargsrepr: input.kwargsrepr ?? kwargsRepr(kwargs),
    origin: input.origin ?? anonNodeName(),
    ignore_result: input.ignoreResult ?? false,
    ...custom,
  };

  const properties: MessageProperties = {
    correlation_id: id,
    reply_to: input.replyTo ?? "",
    delivery_mode: 2,
    priority,
  };
  if (input.expires) {
    properties.expiration = String(Math.max(0, Math.round(input.expires.getTime() - Date.now())));
  }

  const embed: MessageEmbed = {
    callbacks: input.embed?.callbacks ?? null,
    errbacks: input.embed?.errbacks ?? null,
    chain: input.embed?.chain ?? null,
    chord: input.embed?.chord ?? null,
  };
  return {
    headers,
    properties,
    contentType: serializer.contentType,
    contentEncoding: serializer.contentEncoding,
    body: serializer.encode([args, kwargs, embed]),
  };
}

function isoOrNull(date: Date | null | undefined, name: string): string | null {
  if (date === null || date === undefined) return null;
  if (!(date instanceof Date)) throw invalid(`${name} must be a Date or null`);
  try {
    return formatIsoDateTime(date);
  } catch (error) {
    throw invalid(`${name} cannot be sent: ${(error as Error).message}`, error);
  }
}

function invalid(message: string, cause?: unknown): TqError {
  return new TqError("TQ_MESSAGE_INVALID", message, { component: "message", cause });
}
