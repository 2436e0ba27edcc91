import { randomUUID } from "node:crypto";
import type {
  ChordPart,
  ChordProgress,
  Logger,
  ResultBackend,
  StoreResultOptions,
  TaskMeta,
  TqError,
  WaitForResultOptions,
} from "@tq/core";
import type { ConsumeMessage } from "amqplib";
import { ConnectionManager } from "./connection-manager.js";
import {
  type ResolvedRpcBackendOptions,
  type RpcBackendOptions,
  resolveRpcBackendOptions,
} from "./rpc-backend-options.js";
import { decodeReply, encodeReply, REPLY_CONTENT_ENCODING, REPLY_CONTENT_TYPE } from "./rpc-codec.js";
import { abortedError, closedError, rpcError, unsupportedError } from "./rpc-errors.js";
import { ReplyInbox } from "./rpc-inbox.js";
import { ReplyPublisher } from "./rpc-publisher.js";
import { ReplyQueue } from "./rpc-reply-queue.js";

/**
 * Celery's `rpc://` result backend on RabbitMQ: a worker sends each state of a task to the caller's
 * own reply queue (the message's `reply_to`), on the default exchange, with the task id as
 * `correlation_id`; the caller consumes its queue and keeps the latest state of each task in memory.
 * Nothing is stored on the server, so only the caller that sent a task can read its result, results
 * of other callers never reach it, and groups and chords are refused (`TQ_CONFIG`), as Celery
 * refuses them.
 *
 * Every instance has its own reply queue, named {@link RpcBackend.replyTo} (Celery's `oid`: a uuid),
 * declared as Celery declares it and consumed from `connect()` on, which the app calls before it
 * publishes a task with `reply_to` set. States that arrive before anyone waits are kept for a later
 * `get`/`waitFor`, up to `maxBufferedResults` tasks (least recently used dropped first) and for
 * `resultExpiresMs`.
 *
 * Delivery is at most once, as in Celery: the queue is consumed without acks and is auto-delete, so
 * results sent while the caller is disconnected (until the backend reconnected and declared the queue
 * again) are lost; a `waitFor` for them ends only by its timeout or signal.
 *
 * The constructor does no I/O. A connection passed in is shared and never closed.
 */
export class RpcBackend implements ResultBackend {
  /** The reply queue this backend receives results on; the app puts it in every message's `reply_to`. */
  readonly replyTo: string = randomUUID();
  readonly #settings: ResolvedRpcBackendOptions;
  readonly #logger: Logger;
  readonly #inbox: ReplyInbox;
  readonly #manager: ConnectionManager;
  readonly #queue: ReplyQueue;
  readonly #publisher: ReplyPublisher;
  #opening: Promise<void> | undefined;
  #failure: TqError | undefined;
  #closed = false;

  constructor(options: RpcBackendOptions = {}) {
    const settings = resolveRpcBackendOptions(options);
    this.#settings = settings;
    this.#logger = settings.logger;
    this.#inbox = new ReplyInbox({
      maxEntries: settings.maxBufferedResults,
      maxAgeMs: settings.resultExpiresMs,
      logger: this.#logger,
    });
    this.#manager = new ConnectionManager({
      url: settings.url,
      connection: settings.connection,
      connectionName: settings.connectionName,
      heartbeatSeconds: settings.heartbeatSeconds,
      connectTimeoutMs: settings.connectTimeoutMs,
      reconnect: settings.reconnect,
      socketOptions: settings.socketOptions,
      logger: this.#logger,
    });
    this.#queue = new ReplyQueue({
      manager: this.#manager,
      name: this.replyTo,
      settings,
      onMessage: (message) => this.#receive(message),
      logger: this.#logger,
    });
    this.#publisher = new ReplyPublisher(this.#manager, this.#logger);
  }

  /**
   * Connects, declares the reply queue and starts consuming it; resolves once that is done the first
   * time (later calls resolve at once, also while reconnecting). Rejects with `TQ_CONNECTION` when
   * RabbitMQ cannot be reached; a later call tries again.
   */
  connect(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortedError(signal, "connecting"));
    this.#opening ??= this.#open().catch((error: unknown) => {
      this.#opening = undefined;
      throw error;
    });
    const opening = this.#opening;
    if (!signal) return opening;
    // If the abort wins, the attempt goes on; its outcome is what the next call sees.
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(abortedError(signal, "connecting"));
      signal.addEventListener("abort", onAbort, { once: true });
      opening.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  /**
   * Rejects waits in progress with `TQ_CLOSED`, stops consuming (RabbitMQ then deletes the
   * auto-delete reply queue) and closes the connection if the backend opened it.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#inbox.failAll(closedError());
    await this.#opening?.catch(() => {});
    await Promise.all([this.#publisher.close(), this.#queue.close()]);
    await this.#manager.close();
  }

  /**
   * Sends a state to the caller's reply queue (`options.replyTo`, the message's `reply_to`) with
   * `correlation_id` = `options.correlationId` or the task id, and resolves once RabbitMQ confirmed
   * it. Without a `replyTo` the result has nowhere to go: it is skipped, logged at debug level, as
   * Celery skips it. `options.expiresMs` does not apply: the reply queue's `x-expires` is the caller's.
   * Rejects after `publishTimeoutMs` (`TQ_CONNECTION` while RabbitMQ is unreachable, `TQ_TIMEOUT`
   * without a confirm); a reply queue that no longer exists is not a failure (see {@link ReplyPublisher}).
   */
  async store(meta: TaskMeta, options: StoreResultOptions = {}): Promise<void> {
    this.#assertOpen();
    const content = encodeReply(meta);
    if (options.replyTo === undefined || options.replyTo === "") {
      this.#logger.debug("no reply_to on the task message: its state was not sent anywhere", {
        "tq.task_id": meta.task_id,
        "tq.state": meta.status,
      });
      return;
    }
    await this.connect();
    if (this.#failure) throw this.#failure;
    await this.#publisher.publish(
      {
        queue: options.replyTo,
        content,
        // As kombu sends them for Celery: empty headers, priority 0, transient unless `persistent`.
        properties: {
          correlationId: options.correlationId ?? meta.task_id,
          contentType: REPLY_CONTENT_TYPE,
          contentEncoding: REPLY_CONTENT_ENCODING,
          deliveryMode: this.#settings.deliveryMode,
          priority: 0,
          headers: {},
          mandatory: true,
        },
      },
      Date.now() + this.#settings.publishTimeoutMs,
    );
  }

  /** The latest state that arrived for the task, or null (PENDING: nothing arrived, or it was dropped). */
  async get(taskId: string): Promise<TaskMeta | null> {
    this.#assertOpen();
    await this.connect();
    return this.#inbox.latest(taskId);
  }

  /** Resolves once a ready state (SUCCESS, FAILURE, REVOKED) arrived for the task, at once if it already did. */
  async waitFor(taskId: string, options: WaitForResultOptions = {}): Promise<TaskMeta> {
    this.#assertOpen();
    await this.connect(options.signal ? { signal: options.signal } : {});
    if (this.#failure) throw this.#failure;
    return this.#inbox.wait(taskId, options);
  }

  /** Drops the state kept for the task (nothing is stored on the server). */
  async forget(taskId: string): Promise<void> {
    this.#assertOpen();
    this.#inbox.forget(taskId);
  }

  /** Refused with `TQ_CONFIG`: Celery's rpc backend has no `save_group`. */
  async saveGroup(_groupId: string, _taskIds: readonly string[]): Promise<void> {
    throw unsupportedError("saving groups (GroupResult.save)");
  }

  /** Refused with `TQ_CONFIG`: Celery's rpc backend has no `restore_group`. */
  async getGroup(_groupId: string): Promise<string[] | null> {
    throw unsupportedError("restoring groups (GroupResult.restore)");
  }

  /** Refused with `TQ_CONFIG`: Celery's rpc backend has no `delete_group`. */
  async forgetGroup(_groupId: string): Promise<void> {
    throw unsupportedError("deleting groups (GroupResult.delete)");
  }

  /** Refused with `TQ_CONFIG`, as Celery's `ensure_chords_allowed` refuses chords on rpc://. */
  async setChordSize(_groupId: string, _size: number): Promise<void> {
    throw unsupportedError("chords");
  }

  /** Refused with `TQ_CONFIG`: chords are not supported. */
  async addChordPart(_groupId: string, _part: ChordPart): Promise<ChordProgress> {
    throw unsupportedError("chords");
  }

  /** Refused with `TQ_CONFIG`: chords are not supported. */
  async clearChord(_groupId: string): Promise<void> {
    throw unsupportedError("chords");
  }

  async #open(): Promise<void> {
    const model = await this.#manager.connect();
    await this.#queue.consumeOn(model);
    if (this.#settings.connection) {
      // A connection of the user's is not reopened: results can no longer arrive.
      this.#settings.connection.once("close", () => {
        if (this.#closed) return;
        this.#failure = rpcError(
          "TQ_CONNECTION",
          "the amqplib connection given to the rpc:// result backend closed; results can no longer arrive",
        );
        this.#inbox.failAll(this.#failure);
      });
    }
  }

  #receive(message: ConsumeMessage): void {
    const { contentType, contentEncoding, correlationId } = message.properties as {
      contentType?: string;
      contentEncoding?: string;
      correlationId?: string;
    };
    try {
      this.#inbox.deliver(decodeReply(message.content, { contentType, contentEncoding, correlationId }));
    } catch (error) {
      this.#logger.warn("dropped a result message that cannot be read", {
        "tq.queue": this.replyTo,
        "tq.task_id": correlationId,
        error,
      });
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw closedError();
  }
}

/** Creates an {@link RpcBackend}; no I/O until it is used or `connect()`ed. */
export function rpcBackend(options: RpcBackendOptions = {}): RpcBackend {
  return new RpcBackend(options);
}
