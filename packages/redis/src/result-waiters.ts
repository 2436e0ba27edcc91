import { isReadyState, type Logger, type TaskMeta, TqError, type WaitForResultOptions } from "@tq/core";
import { peekStatus } from "./backend-codec.js";
import { closeClient, ensureConnected, type RedisClient } from "./connection.js";

/** What {@link ResultWaiters} needs from its backend. */
export interface ResultWaitersOptions {
  /** Opens the subscriber connection; called once, on the first wait. */
  openSubscriber(): RedisClient;
  /** The channel (= key name) a task's documents are published on. */
  channelOf(taskId: string): string;
  /** Reads a task's stored document from the backend's own database. */
  read(taskId: string): Promise<Uint8Array | null>;
  /** Decodes a stored document (a fresh object on every call). */
  decode(data: Uint8Array, taskId: string): TaskMeta;
  logger: Logger;
}

interface Waiter {
  resolve(meta: TaskMeta): void;
  fail(error: unknown): void;
}

/** The waiters of one task id, sharing one SUBSCRIBE. */
interface Channel {
  readonly taskId: string;
  readonly name: string;
  readonly waiters: Set<Waiter>;
  /** Settles once Redis confirmed the SUBSCRIBE. */
  readonly subscribed: Promise<void>;
}

/**
 * Waits for results by pub/sub: one subscriber connection for the whole backend, one SUBSCRIBE per
 * task id however many waiters it has (UNSUBSCRIBE when the last one goes).
 *
 * A wait subscribes BEFORE it reads the key, so a result stored in between is either read or
 * notified. A notification is only a hint: Redis channels are not per database, so a backend on
 * another DB (same key prefix, same task id) publishes on the same channel. A message whose leading
 * status is a ready state (or cannot be read cheaply) makes the waiters re-read the key from their
 * own DB (one GET per message and task id, not per waiter), and only a ready document whose task_id
 * is the awaited one settles them. Other states are dropped without a read, so waiting never polls.
 * After the subscriber reconnects, every pending wait re-subscribes and re-reads, since messages
 * published while it was away are gone.
 */
export class ResultWaiters {
  readonly #options: ResultWaitersOptions;
  /** By channel name, which is what a message names. */
  readonly #channels = new Map<string, Channel>();
  #subscriber: RedisClient | undefined;
  #connecting: Promise<RedisClient> | undefined;
  #closed = false;

  constructor(options: ResultWaitersOptions) {
    this.#options = options;
  }

  /** Resolves with the task's document once it is in a ready state. */
  wait(taskId: string, options: WaitForResultOptions = {}): Promise<TaskMeta> {
    const { timeoutMs, signal } = options;
    if (timeoutMs !== undefined && !(timeoutMs >= 0)) {
      return Promise.reject(redisError("TQ_CONFIG", `timeoutMs must be ≥ 0, got ${timeoutMs}`));
    }
    if (this.#closed) return Promise.reject(closedError());
    if (signal?.aborted) return Promise.reject(abortedError(signal));
    return new Promise<TaskMeta>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let channel: Channel | undefined;
      const settle = (): boolean => {
        if (channel === undefined) return false;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#leave(channel, waiter);
        channel = undefined;
        return true;
      };
      const waiter: Waiter = {
        resolve: (meta) => settle() && resolve(meta),
        fail: (error) => settle() && reject(error),
      };
      const onAbort = (): void => waiter.fail(abortedError(signal as AbortSignal));
      channel = this.#join(taskId, waiter);
      if (timeoutMs !== undefined) {
        // Not unref'd: a caller waiting for a result keeps the process alive, as a socket read would.
        timer = setTimeout(
          () => waiter.fail(redisError("TQ_TIMEOUT", `no result for task ${taskId} within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      const joined = channel;
      joined.subscribed.then(
        () => this.#check(joined),
        (error: unknown) => waiter.fail(error),
      );
    });
  }

  /** Rejects every wait in progress with `TQ_CLOSED` and closes the subscriber connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const error = closedError();
    for (const channel of [...this.#channels.values()]) {
      for (const waiter of [...channel.waiters]) waiter.fail(error);
    }
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    if (subscriber) await closeClient(subscriber);
  }

  #join(taskId: string, waiter: Waiter): Channel {
    const name = this.#options.channelOf(taskId);
    let channel = this.#channels.get(name);
    if (!channel) {
      channel = { taskId, name, waiters: new Set(), subscribed: this.#subscribe(name) };
      this.#channels.set(name, channel);
    }
    channel.waiters.add(waiter);
    return channel;
  }

  #leave(channel: Channel, waiter: Waiter): void {
    channel.waiters.delete(waiter);
    if (channel.waiters.size > 0) return;
    // The channel stays listed until its SUBSCRIBE is confirmed, so a wait arriving meanwhile joins it
    // instead of sending a SUBSCRIBE that this UNSUBSCRIBE would overtake. Once it is dropped from
    // the list, the UNSUBSCRIBE is sent at once: a later SUBSCRIBE for the id goes after it on the
    // same connection, so Redis applies them in that order.
    const release = (): void => {
      if (channel.waiters.size > 0 || this.#channels.get(channel.name) !== channel) return;
      this.#channels.delete(channel.name);
      const subscriber = this.#subscriber;
      if (this.#closed || !subscriber) return;
      subscriber.unsubscribe(channel.name).catch((error: unknown) => {
        this.#options.logger.debug("could not unsubscribe from a result channel", {
          "tq.channel": channel.name,
          error,
        });
      });
    };
    channel.subscribed.then(release, () => {
      if (channel.waiters.size === 0 && this.#channels.get(channel.name) === channel) {
        this.#channels.delete(channel.name);
      }
    });
  }

  async #subscribe(name: string): Promise<void> {
    const subscriber = await this.#connect();
    try {
      await subscriber.subscribe(name);
    } catch (cause) {
      throw redisError("TQ_CONNECTION", `cannot subscribe to ${name}: ${(cause as Error).message}`, cause);
    }
  }

  #connect(): Promise<RedisClient> {
    if (!this.#connecting) {
      const subscriber = this.#options.openSubscriber();
      this.#subscriber = subscriber;
      subscriber.on("messageBuffer", (channel: Buffer, message: Buffer) => this.#onMessage(channel, message));
      subscriber.on("error", (error: unknown) => {
        this.#options.logger.debug("result subscriber connection error", { error });
      });
      let connectedOnce = false;
      subscriber.on("ready", () => {
        if (connectedOnce) this.#afterReconnect(subscriber);
        connectedOnce = true;
      });
      this.#connecting = ensureConnected(subscriber, "redis").then(
        () => subscriber,
        (error: unknown) => {
          // Let the next wait try again; this one fails with the connection error.
          this.#connecting = undefined;
          this.#subscriber = undefined;
          subscriber.disconnect();
          throw error;
        },
      );
    }
    return this.#connecting;
  }

  #onMessage(channelName: Buffer, message: Buffer): void {
    const channel = this.#channels.get(channelName.toString());
    if (!channel) return;
    const status = peekStatus(message);
    if (status !== null && !isReadyState(status)) return;
    void this.#check(channel);
  }

  /** Reads the key from our own DB and settles the channel's waiters when it holds a ready document. */
  async #check(channel: Channel): Promise<void> {
    if (channel.waiters.size === 0) return;
    let data: Uint8Array | null;
    let meta: TaskMeta;
    try {
      data = await this.#options.read(channel.taskId);
      if (data === null) return;
      meta = this.#options.decode(data, channel.taskId);
    } catch (error) {
      for (const waiter of [...channel.waiters]) waiter.fail(error);
      return;
    }
    if (!isReadyState(meta.status) || meta.task_id !== channel.taskId) return;
    const [first, ...others] = [...channel.waiters];
    first?.resolve(meta);
    // Every waiter gets its own copy: what one caller changes must not show in another's result.
    for (const waiter of others) waiter.resolve(this.#options.decode(data, channel.taskId));
  }

  #afterReconnect(subscriber: RedisClient): void {
    const channels = [...this.#channels.values()];
    if (channels.length === 0 || this.#closed) return;
    // ioredis re-subscribes after "ready" without telling us when; subscribing again (harmless)
    // gives a reply to wait for before re-reading, so nothing published from now on is missed.
    subscriber.subscribe(...channels.map((channel) => channel.name)).then(
      () => {
        for (const channel of channels) void this.#check(channel);
      },
      (error: unknown) => this.#options.logger.debug("could not re-subscribe result channels", { error }),
    );
  }
}

function closedError(): TqError {
  return redisError("TQ_CLOSED", "the Redis result backend was closed");
}

function abortedError(signal: AbortSignal): TqError {
  return redisError("TQ_ABORTED", "the wait for a result was aborted", signal.reason);
}

function redisError(code: string, message: string, cause?: unknown): TqError {
  return new TqError(code, message, { component: "redis", ...(cause === undefined ? {} : { cause }) });
}
