/**
 * A signature's options: written in tq's names by callers, kept under Celery's names (the `options`
 * dict of a signature on the wire), and turned into `SendTaskOptions` when the signature is sent.
 */
import { TqError } from "../errors.js";
import { formatIsoDateTime, parseIsoDateTime } from "../iso-date.js";
import type { MessageEmbed, SignatureJson } from "../message/types.js";
import type { SendTaskOptions } from "../task.js";

/** A signature object or its Celery dict. */
export type SignatureSource = SignatureJson | { toJSON(): SignatureJson };

/**
 * Call options a signature carries (`sig.set(...)`) and `applyAsync` takes, in tq's names; they are
 * stored under Celery's (given beside each), so a Python worker reads them.
 */
export interface SignatureOptions {
  /** Celery: `task_id`. */
  taskId?: string;
  /** Seconds from the send. Celery: `countdown`. */
  countdown?: number;
  /** Celery: `eta` (an ISO 8601 string in the dict). */
  eta?: Date;
  /** Seconds, or a date. Celery: `expires`. */
  expires?: number | Date;
  /** Celery: `queue`. */
  queue?: string;
  /** Celery: `exchange`. */
  exchange?: string;
  /** Celery: `routing_key`. */
  routingKey?: string;
  /** Celery: `priority`. */
  priority?: number;
  /** Celery: `time_limit`. */
  timeLimit?: number;
  /** Celery: `soft_time_limit`. */
  softTimeLimit?: number;
  /** Celery: `ignore_result`. */
  ignoreResult?: boolean;
  /** Celery: `serializer`. */
  serializer?: string;
  /** Celery: `shadow`. */
  shadow?: string;
  /** Extra message headers. Celery: `headers`. */
  headers?: Record<string, unknown>;
  /** Celery: `reply_to`. */
  replyTo?: string;
  /** Celery: `parent_id`. */
  parentId?: string;
  /** Celery: `root_id`. */
  rootId?: string;
  /** The group the task belongs to. Celery: `group_id` (the message's `group` header). */
  groupId?: string;
  /** Its position in a chord header. Celery: `group_index`. */
  groupIndex?: number;
  /** Applied with the result on success. Celery: `link` (the message's `embed.callbacks`). */
  link?: SignatureSource | readonly SignatureSource[];
  /** Applied on failure. Celery: `link_error` (`embed.errbacks`). */
  linkError?: SignatureSource | readonly SignatureSource[];
  /** Steps to run after this one, last first. Celery: `chain` (`embed.chain`). */
  chain?: readonly SignatureSource[];
  /** The chord body, for a chord header member. Celery: `chord` (`embed.chord`). */
  chord?: SignatureSource;
}

/** The options dict of a signature, under Celery's names. */
export type CeleryOptions = Record<string, unknown>;

const NAMES: Readonly<Record<string, string>> = {
  taskId: "task_id",
  countdown: "countdown",
  eta: "eta",
  expires: "expires",
  queue: "queue",
  exchange: "exchange",
  routingKey: "routing_key",
  priority: "priority",
  timeLimit: "time_limit",
  softTimeLimit: "soft_time_limit",
  ignoreResult: "ignore_result",
  serializer: "serializer",
  shadow: "shadow",
  headers: "headers",
  replyTo: "reply_to",
  parentId: "parent_id",
  rootId: "root_id",
  groupId: "group_id",
  groupIndex: "group_index",
  link: "link",
  linkError: "link_error",
  chain: "chain",
  chord: "chord",
};

/** A signature as its Celery dict. */
export function signatureJson(source: SignatureSource): SignatureJson {
  return "toJSON" in source && typeof source.toJSON === "function"
    ? source.toJSON()
    : (source as SignatureJson);
}

/**
 * Converts options in tq's names to Celery's: dates become ISO strings, signatures their dicts.
 * @throws TqError `TQ_CONFIG` for an option tq does not know.
 */
export function toCeleryOptions(options: SignatureOptions): CeleryOptions {
  const out: CeleryOptions = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const name = NAMES[key];
    if (name === undefined) throw configError(`unknown signature option "${key}"`);
    out[name] = celeryValue(key, value);
  }
  return out;
}

function celeryValue(key: string, value: unknown): unknown {
  // `+00:00` rather than `Z`: Python before 3.11 cannot read the `Z`.
  if (value instanceof Date) return formatIsoDateTime(value);
  if (key === "link" || key === "linkError" || key === "chain") {
    const list = Array.isArray(value) ? value : [value];
    return list.map((item: SignatureSource) => signatureJson(item));
  }
  if (key === "chord") return signatureJson(value as SignatureSource);
  return value;
}

/** `link` and `link_error` may hold one signature or a list (Celery's `maybe_list`). */
export function signatureList(value: unknown, name: string): SignatureJson[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((item, index) => {
    if (typeof item !== "object" || item === null || typeof (item as SignatureJson).task !== "string") {
      throw configError(`option ${name}[${index}] must be a signature dict`);
    }
    return item as SignatureJson;
  });
}

/**
 * Turns a signature's Celery options into `sendTask` options: `link`/`link_error`/`chain`/`chord`
 * into the message's embed, `group_id`/`group_index` into its group headers. Options that only mean
 * something to Python's producer (`retry`, `retry_policy`, `producer`…) are ignored, as a kombu
 * publish ignores what it does not know.
 * @throws TqError `TQ_CONFIG` for an option of the wrong type.
 */
export function sendOptionsOf(options: CeleryOptions): SendTaskOptions {
  const out: SendTaskOptions = {};
  const str = (name: string): string | undefined => optional(options, name, "string") as string | undefined;
  const num = (name: string): number | undefined => optional(options, name, "number") as number | undefined;
  const taskId = str("task_id");
  if (taskId !== undefined) out.taskId = taskId;
  const countdown = num("countdown");
  if (countdown !== undefined) out.countdown = countdown;
  const eta = dateOption(options.eta, "eta");
  if (eta !== undefined) out.eta = eta;
  const expires = options.expires;
  if (typeof expires === "number") out.expires = expires;
  else if (expires !== undefined && expires !== null) out.expires = dateOption(expires, "expires")!;
  const queue = nameOption(options.queue, "queue");
  if (queue !== undefined) out.queue = queue;
  const exchange = nameOption(options.exchange, "exchange");
  if (exchange !== undefined) out.exchange = exchange;
  const routingKey = str("routing_key");
  if (routingKey !== undefined) out.routingKey = routingKey;
  const priority = num("priority");
  if (priority !== undefined) out.priority = priority;
  const timeLimit = num("time_limit");
  if (timeLimit !== undefined) out.timeLimit = timeLimit;
  const softTimeLimit = num("soft_time_limit");
  if (softTimeLimit !== undefined) out.softTimeLimit = softTimeLimit;
  const ignoreResult = optional(options, "ignore_result", "boolean") as boolean | undefined;
  if (ignoreResult !== undefined) out.ignoreResult = ignoreResult;
  const serializer = str("serializer");
  if (serializer !== undefined) out.serializer = serializer;
  const shadow = str("shadow");
  if (shadow !== undefined) out.shadow = shadow;
  const headers = optional(options, "headers", "object") as Record<string, unknown> | undefined;
  if (headers !== undefined) out.headers = headers;
  const replyTo = str("reply_to");
  if (replyTo !== undefined && replyTo !== "") out.replyTo = replyTo;
  const parentId = str("parent_id");
  if (parentId !== undefined) out.parentId = parentId;
  const rootId = str("root_id");
  if (rootId !== undefined) out.rootId = rootId;
  const groupId = str("group_id");
  if (groupId !== undefined) out.groupId = groupId;
  const groupIndex = num("group_index");
  if (groupIndex !== undefined) out.groupIndex = groupIndex;
  const embed = embedOf(options);
  if (embed) out.embed = embed;
  return out;
}

function embedOf(options: CeleryOptions): Partial<MessageEmbed> | undefined {
  const callbacks = signatureList(options.link, "link");
  const errbacks = signatureList(options.link_error, "link_error");
  const chain = signatureList(options.chain, "chain");
  const chord =
    options.chord === undefined || options.chord === null ? [] : signatureList(options.chord, "chord");
  if (callbacks.length + errbacks.length + chain.length + chord.length === 0) return undefined;
  return {
    callbacks: callbacks.length > 0 ? callbacks : null,
    errbacks: errbacks.length > 0 ? errbacks : null,
    chain: chain.length > 0 ? chain : null,
    chord: chord[0] ?? null,
  };
}

function optional(options: CeleryOptions, name: string, type: "string" | "number" | "boolean" | "object") {
  const value = options[name];
  if (value === undefined || value === null) return undefined;
  const ok = type === "object" ? typeof value === "object" && !Array.isArray(value) : typeof value === type;
  if (!ok) throw configError(`option ${name} must be a ${type}, got ${JSON.stringify(value)}`);
  return value;
}

// Celery also accepts kombu Queue/Exchange objects, which serialize with a name.
function nameOption(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  const named = typeof value === "object" ? (value as { name?: unknown }).name : undefined;
  if (typeof named === "string") return named;
  throw configError(`option ${name} must be a name, got ${JSON.stringify(value)}`);
}

function dateOption(value: unknown, name: string): Date | undefined {
  if (value === undefined || value === null) return undefined;
  if (value instanceof Date) return value;
  if (typeof value === "string") {
    const date = parseIsoDateTime(value);
    if (date) return date;
  }
  throw configError(`option ${name} must be an ISO 8601 date, got ${JSON.stringify(value)}`);
}

function configError(message: string): TqError {
  return new TqError("TQ_CONFIG", message, { component: "canvas" });
}
