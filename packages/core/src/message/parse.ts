/**
 * Validates and decodes incoming task messages: Celery protocol v2, and the legacy v1 body format that
 * Python workers still accept (celery-protocol.md §1.1).
 */
import { TqError } from "../errors.js";
import { argsRepr, kwargsRepr } from "../python-repr.js";
import { decodeMessageBody, type SerializerLookup } from "./body.js";
import { readEmbed, readSignature, readSignatureList } from "./embed.js";
import {
  describe,
  invalidMessage,
  isRecord,
  readArray,
  readCount,
  readDate,
  readFlag,
  readNullableString,
  readRecord,
  readRequiredString,
  readTimeLimit,
} from "./fields.js";
import type { TaskMessage, TransportMessage } from "./types.js";

export type { SerializerLookup } from "./body.js";

/** The outcome of {@link decodeTaskMessage}: the message, or why it cannot be used. */
export type DecodeResult = { ok: true; value: TaskMessage } | { ok: false; error: TqError };

/**
 * Decodes a task message without throwing; see {@link parseTaskMessage} for the rules.
 * The error has code `TQ_SERIALIZATION` when the body cannot be decompressed or decoded (unknown
 * content type included), `TQ_MESSAGE_INVALID` when a header or a body part has the wrong shape.
 */
export function decodeTaskMessage(message: TransportMessage, serializers: SerializerLookup): DecodeResult {
  try {
    return { ok: true, value: parseTaskMessage(message, serializers) };
  } catch (error) {
    if (TqError.is(error)) return { ok: false, error };
    throw error;
  }
}

/**
 * Validates and decodes a task message, throwing the error {@link decodeTaskMessage} would report.
 *
 * Protocol v2 (a `task` header is present, Python's rule): every Celery header is type-checked, null
 * allowed where Celery sends null; `eta`/`expires` are ISO 8601 (a string without offset is read as
 * UTC, where a Python worker would use its local zone); `timelimit` defaults to `[null, null]`,
 * `retries` to 0, `root_id` to the id, `argsrepr`/`kwargsrepr` to the repr of the arguments; the body
 * must be `[args, kwargs, embed]` (a 2-element `[args, kwargs]` is accepted with an empty embed), and
 * missing embed keys are null. Unknown headers are kept in `headers`.
 *
 * Protocol v1 (no `task` header): the body is a dict `{task, id, args, kwargs, group | taskset, retries,
 * eta, expires, utc, callbacks, errbacks, timelimit, chord}`, mapped as Celery's `proto1_to_proto2`
 * does (`taskset` wins over `group`; naive dates are local time when `utc` is false).
 */
export function parseTaskMessage(message: TransportMessage, serializers: SerializerLookup): TaskMessage {
  if (!isRecord(message.headers)) {
    throw invalidMessage(`message headers must be an object, got ${describe(message.headers)}`);
  }
  if (typeof message.properties !== "object" || message.properties === null) {
    throw invalidMessage(`message properties must be an object, got ${describe(message.properties)}`);
  }
  if (!(message.body instanceof Uint8Array)) {
    throw invalidMessage(`message body must be a Uint8Array, got ${describe(message.body)}`);
  }
  return Object.hasOwn(message.headers, "task")
    ? parseV2(message, message.headers, serializers)
    : parseV1(message, serializers);
}

function parseV2(
  message: TransportMessage,
  headers: Record<string, unknown>,
  serializers: SerializerLookup,
): TaskMessage {
  const label = (name: string) => `header "${name}"`;
  const id = readRequiredString(headers.id, label("id"));
  const fields = {
    task: readRequiredString(headers.task, label("task")),
    lang: readNullableString(headers.lang, label("lang")),
    shadow: readNullableString(headers.shadow, label("shadow")),
    eta: readDate(headers.eta, label("eta")),
    expires: readDate(headers.expires, label("expires")),
    group: readNullableString(headers.group, label("group")),
    groupIndex: readCount(headers.group_index, label("group_index"), null, true),
    retries: readCount(headers.retries, label("retries"), 0, false),
    timeLimit: readTimeLimit(headers.timelimit, label("timelimit")),
    rootId: readNullableString(headers.root_id, label("root_id")) || id,
    parentId: readNullableString(headers.parent_id, label("parent_id")),
    argsrepr: readNullableString(headers.argsrepr, label("argsrepr")),
    kwargsrepr: readNullableString(headers.kwargsrepr, label("kwargsrepr")),
    origin: readNullableString(headers.origin, label("origin")),
    ignoreResult: readFlag(headers.ignore_result, label("ignore_result")),
  };

  const body = decodeMessageBody(message, serializers);
  if (!Array.isArray(body)) {
    throw invalidMessage(`body must be an array [args, kwargs, embed] (protocol v2), got ${describe(body)}`);
  }
  if (body.length !== 3 && body.length !== 2) {
    throw invalidMessage(`body must have 3 elements [args, kwargs, embed], got ${body.length}`);
  }
  const args = readArray(body[0], "body args (element 0)", [], false);
  const kwargs = readRecord(body[1], "body kwargs (element 1)", {}, false);
  const embed = readEmbed(body[2], "body embed (element 2)");
  return {
    protocol: 2,
    id,
    ...fields,
    argsrepr: fields.argsrepr ?? argsRepr(args),
    kwargsrepr: fields.kwargsrepr ?? kwargsRepr(kwargs),
    args,
    kwargs,
    embed,
    ...received(message, headers),
  };
}

function parseV1(message: TransportMessage, serializers: SerializerLookup): TaskMessage {
  const body = decodeMessageBody(message, serializers);
  if (!isRecord(body)) {
    throw invalidMessage(
      `message has no "task" header, so its body must be a protocol v1 object, got ${describe(body)}`,
    );
  }
  const label = (name: string) => `body field "${name}" (protocol v1)`;
  const id = readRequiredString(body.id, label("id"));
  const utc = body.utc ?? true;
  if (typeof utc !== "boolean")
    throw invalidMessage(`${label("utc")} must be a boolean, got ${describe(utc)}`);
  const naiveAs = utc ? "utc" : "local";
  const args = readArray(body.args, label("args"), [], true) ?? [];
  const kwargs = readRecord(body.kwargs, label("kwargs"), {}, true) ?? {};
  const group =
    body.taskset !== undefined
      ? readNullableString(body.taskset, label("taskset"))
      : readNullableString(body.group, label("group"));
  const headers = message.headers;
  return {
    protocol: 1,
    id,
    task: readRequiredString(body.task, label("task")),
    lang: readNullableString(headers.lang, `header "lang"`),
    shadow: null,
    eta: readDate(body.eta, label("eta"), naiveAs),
    expires: readDate(body.expires, label("expires"), naiveAs),
    group,
    groupIndex: null,
    retries: readCount(body.retries, label("retries"), 0, false),
    timeLimit: readTimeLimit(body.timelimit, label("timelimit")),
    rootId: id,
    parentId: null,
    argsrepr: argsRepr(args),
    kwargsrepr: kwargsRepr(kwargs),
    origin: readNullableString(headers.origin, `header "origin"`),
    ignoreResult: false,
    args,
    kwargs,
    embed: {
      callbacks: readSignatureList(body.callbacks, label("callbacks")),
      errbacks: readSignatureList(body.errbacks, label("errbacks")),
      chain: null,
      chord:
        body.chord === undefined || body.chord === null ? null : readSignature(body.chord, label("chord")),
    },
    ...received(message, headers),
  };
}

type ReceivedParts = Pick<TaskMessage, "headers" | "properties" | "contentType" | "contentEncoding">;

function received(message: TransportMessage, headers: Record<string, unknown>): ReceivedParts {
  return {
    headers: { ...headers },
    properties: message.properties,
    contentType: message.contentType,
    contentEncoding: message.contentEncoding,
  };
}
