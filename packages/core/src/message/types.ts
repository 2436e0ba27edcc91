/**
 * Celery message protocol v2, as it travels between clients, brokers and workers.
 * Field names on the wire are Celery's (snake_case); see shared/celery-protocol.md §1.
 */

/** Broker-level properties of a message (AMQP basic properties; the `properties` object in kombu's envelope). */
export interface MessageProperties {
  /** Equals the task id for task messages. */
  correlation_id?: string;
  /** The caller's reply queue (used by the `rpc://` result backend). */
  reply_to?: string;
  /** 2 = persistent (tasks), 1 = transient (events, control replies). */
  delivery_mode?: 1 | 2;
  /** Message priority; its direction depends on the transport (see the broker's README). */
  priority?: number;
  /** Milliseconds until the broker may drop the message, as a string; set only when `expires` is. */
  expiration?: string;
  /** Anything else a transport or a Python client put there is kept. */
  [key: string]: unknown;
}

/**
 * A message as a broker carries it: headers and properties, and a body already serialized.
 * Brokers store and move these without understanding the body.
 */
export interface TransportMessage {
  /** Celery task headers (AMQP `application_headers`), unknown ones included. */
  headers: Record<string, unknown>;
  /** Broker properties. */
  properties: MessageProperties;
  /** MIME type of the body, e.g. `application/json`. */
  contentType: string;
  /** Encoding of the body, e.g. `utf-8` or `binary`. */
  contentEncoding: string;
  /** The serialized body. */
  body: Uint8Array;
}

/** A canvas signature as Celery serializes it (`celery.canvas.Signature` as a dict). */
export interface SignatureJson {
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: Record<string, unknown>;
  subtask_type: string | null;
  immutable: boolean;
  /** Celery keeps extra keys such as `chord_size`; they are preserved. */
  [key: string]: unknown;
}

/** The third element of a v2 body. */
export interface MessageEmbed {
  /** Signatures to apply with the result on success (`link`). */
  callbacks: SignatureJson[] | null;
  /** Signatures to apply on failure (`link_error`). */
  errbacks: SignatureJson[] | null;
  /** Remaining chain steps, stored last-first: the worker pops from the end. */
  chain: SignatureJson[] | null;
  /** The chord body when this task is a chord header member. */
  chord: SignatureJson | null;
}

/** `[hard, soft]` in seconds: Celery's order on the wire. */
export type TimeLimit = [hard: number | null, soft: number | null];

/** A validated, decoded task message. */
export interface TaskMessage {
  /** 2 for protocol v2; 1 when the message arrived in the legacy v1 body format. */
  protocol: 1 | 2;
  /** Task id (uuid). */
  id: string;
  /** Registered task name, e.g. `tasks.add`. */
  task: string;
  /** Id of the first task of the workflow; equals `id` for a lone task. */
  rootId: string;
  /** Id of the task that sent this one. */
  parentId: string | null;
  /** Group id for group and chord members. */
  group: string | null;
  /** Position in a chord header. */
  groupIndex: number | null;
  /** Alias name used in logs. */
  shadow: string | null;
  /** Not before this time. */
  eta: Date | null;
  /** Not after this time. */
  expires: Date | null;
  /** How many times it was retried so far. */
  retries: number;
  /** `[hard, soft]` seconds. */
  timeLimit: TimeLimit;
  /** Printable args for logs and events. */
  argsrepr: string;
  /** Printable kwargs for logs and events. */
  kwargsrepr: string;
  /** Sender node name. */
  origin: string | null;
  /** When true the worker stores no result. */
  ignoreResult: boolean;
  /** Client language (`py`, `js`). */
  lang: string | null;
  /** Positional arguments. */
  args: unknown[];
  /** Keyword arguments. */
  kwargs: Record<string, unknown>;
  /** Callbacks, errbacks, chain and chord. */
  embed: MessageEmbed;
  /** Every header as received, unknown ones included, so they can be passed on. */
  headers: Record<string, unknown>;
  /** Broker properties as received. */
  properties: MessageProperties;
  /** Content type of the body. */
  contentType: string;
  /** Content encoding of the body. */
  contentEncoding: string;
}
