import { type Logger, TqError } from "@tq/core";
import { type Channel, type ChannelModel, type ConfirmChannel, connect, type SocketOptions } from "amqplib";
import type { ReconnectOptions } from "./broker-options.js";
import type { ParsedAmqpUrl } from "./url.js";

/** Options of {@link ConnectionManager}. */
export interface ConnectionManagerOptions {
  /** Where to connect; null when `connection` is given. */
  readonly url: ParsedAmqpUrl | null;
  /** A connection of the user's: shared, never closed, not reopened when it drops. */
  readonly connection: ChannelModel | null;
  /** `connection_name` in the client properties. */
  readonly connectionName: string;
  readonly heartbeatSeconds: number;
  /** Bound on the first connect, which is tried once (no retry loop). */
  readonly connectTimeoutMs: number;
  readonly reconnect: Required<ReconnectOptions>;
  readonly socketOptions: SocketOptions;
  readonly logger: Logger;
}

/** Called with each new connection (the first one and every reconnection). */
export type ConnectListener = (model: ChannelModel, generation: number) => void;

interface Waiter {
  resolve(model: ChannelModel): void;
  reject(error: TqError): void;
}

type State = "idle" | "open" | "reconnecting" | "failed" | "closed";

/**
 * One AMQP connection and its life: the first `connect()` is a single attempt that fails fast with
 * TQ_CONNECTION; once connected, a lost connection (RabbitMQ restarted, a network drop, a server-side
 * `close_connection`) is reopened in the background with exponential backoff and jitter, and
 * {@link onConnect} listeners (publisher, consumers, subscriptions) rebuild their channels on it.
 * Waiters in {@link waitForConnection} sleep through the outage, each up to its own deadline.
 * Exported for the rpc:// backend, which may share it.
 */
export class ConnectionManager {
  readonly #options: ConnectionManagerOptions;
  readonly #listeners = new Set<ConnectListener>();
  readonly #waiters = new Set<Waiter>();
  readonly #closedChannels = new WeakSet<Channel>();
  #idleAdmin: Channel | undefined;
  #model: ChannelModel | undefined;
  #state: State = "idle";
  #generation = 0;
  #attempt = 0;
  #first: Promise<ChannelModel> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #detach: (() => void) | undefined;

  constructor(options: ConnectionManagerOptions) {
    this.#options = options;
  }

  /** The open connection, if there is one right now. */
  get current(): ChannelModel | undefined {
    return this.#model;
  }

  /** Increases with every new connection; channels opened on an older one are dead. */
  get generation(): number {
    return this.#generation;
  }

  /** Where the connection goes, for messages (password hidden). */
  get target(): string {
    return this.#options.url?.display ?? "the connection passed in";
  }

  /**
   * Connects once if never connected (TQ_CONNECTION at once when RabbitMQ cannot be reached); while
   * reconnecting, waits up to `connectTimeoutMs` for the connection to come back.
   */
  connect(signal?: AbortSignal): Promise<ChannelModel> {
    if (this.#model) return Promise.resolve(this.#model);
    if (this.#state === "idle") {
      this.#first ??= this.#openFirst().finally(() => {
        this.#first = undefined;
      });
      return signal ? abortable(this.#first, signal) : this.#first;
    }
    return this.waitForConnection({ deadline: Date.now() + this.#options.connectTimeoutMs, signal });
  }

  /** The connection, now or once it is back; rejects at `deadline` (TQ_CONNECTION), on close (TQ_CLOSED). */
  waitForConnection(options: { deadline: number; signal?: AbortSignal | undefined }): Promise<ChannelModel> {
    if (this.#model) return Promise.resolve(this.#model);
    if (this.#state === "idle") return this.connect(options.signal);
    if (this.#state !== "reconnecting") return Promise.reject(this.#unavailable());
    return new Promise<ChannelModel>((resolve, reject) => {
      const { signal } = options;
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#waiters.delete(waiter);
      };
      const waiter: Waiter = {
        resolve: (model) => {
          done();
          resolve(model);
        },
        reject: (error) => {
          done();
          reject(error);
        },
      };
      const onAbort = (): void => waiter.reject(abortedError(signal?.reason));
      const waitMs = Math.max(0, options.deadline - Date.now());
      const timer = setTimeout(
        () =>
          waiter.reject(
            new TqError(
              "TQ_CONNECTION",
              `RabbitMQ at ${this.target} is unreachable: no connection within ${waitMs} ms (reconnecting in the background)`,
              { component: "amqp" },
            ),
          ),
        waitMs,
      );
      this.#waiters.add(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
      if (signal?.aborted) onAbort();
    });
  }

  /** Registers a listener of new connections; returns the function that removes it. */
  onConnect(listener: ConnectListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Opens a channel (a confirm channel for publishing) on a connection, with its errors logged, not thrown. */
  async openChannel<T extends "plain" | "confirm">(
    model: ChannelModel,
    kind: T,
  ): Promise<T extends "confirm" ? ConfirmChannel : Channel> {
    let channel: Channel;
    try {
      channel = kind === "confirm" ? await model.createConfirmChannel() : await model.createChannel();
    } catch (cause) {
      throw new TqError("TQ_CONNECTION", `cannot open a channel to ${this.target}: ${messageOf(cause)}`, {
        cause,
        component: "amqp",
      });
    }
    // A channel error (e.g. PRECONDITION_FAILED) is also reported by the failing call; an 'error'
    // event without a listener would crash the process.
    channel.on("error", (error: Error) =>
      this.#options.logger.debug("an AMQP channel was closed by the server", { error }),
    );
    channel.once("close", () => this.#closedChannels.add(channel));
    return channel as T extends "confirm" ? ConfirmChannel : Channel;
  }

  /** False once a channel opened by {@link openChannel} closed (by us, the server or a lost connection). */
  isOpen(channel: Channel): boolean {
    return !this.#closedChannels.has(channel);
  }

  /**
   * Runs declarations or queries on the declaration channel, waiting for the connection up to
   * `deadline`. A channel the server closed (404, 406) is dropped, the next call opens a new one;
   * calls that overlap get channels of their own, so one's channel error never fails another.
   */
  async withAdminChannel<T>(deadline: number, run: (channel: Channel) => Promise<T>): Promise<T> {
    const model = await this.waitForConnection({ deadline });
    let channel = this.#idleAdmin;
    this.#idleAdmin = undefined;
    if (!channel || !this.isOpen(channel) || channel.connection !== model.connection) {
      channel = await this.openChannel(model, "plain");
    }
    try {
      return await run(channel);
    } finally {
      if (this.isOpen(channel)) {
        if (!this.#idleAdmin && this.#model === model && this.#state !== "closed") this.#idleAdmin = channel;
        else channel.close().catch(() => undefined);
      }
    }
  }

  /** Stops reconnecting and closes the connection if it is ours (never the user's). */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    this.#state = "closed";
    clearTimeout(this.#timer);
    for (const waiter of [...this.#waiters]) waiter.reject(this.#unavailable());
    this.#listeners.clear();
    const idle = this.#idleAdmin;
    this.#idleAdmin = undefined;
    if (idle && this.#options.connection !== null) await idle.close().catch(() => undefined);
    const model = this.#model;
    this.#model = undefined;
    this.#detach?.();
    if (model && this.#options.connection === null) {
      await model
        .close()
        .catch((error: unknown) =>
          this.#options.logger.debug("closing the AMQP connection failed", { error }),
        );
    }
  }

  async #openFirst(): Promise<ChannelModel> {
    let model: ChannelModel;
    try {
      model = this.#options.connection ?? (await this.#open());
    } catch (cause) {
      throw new TqError(
        "TQ_CONNECTION",
        `cannot connect to RabbitMQ at ${this.target}: ${messageOf(cause)}`,
        {
          cause,
          component: "amqp",
        },
      );
    }
    if (this.#state === "closed") {
      if (this.#options.connection === null) await model.close().catch(() => undefined);
      throw this.#unavailable();
    }
    this.#adopt(model);
    return model;
  }

  #open(): Promise<ChannelModel> {
    const { url, socketOptions, connectionName, heartbeatSeconds, connectTimeoutMs } = this.#options;
    if (!url) throw new TqError("TQ_CONNECTION", "the connection passed in is gone", { component: "amqp" });
    return connect(
      { ...url.connect, heartbeat: heartbeatSeconds },
      {
        ...socketOptions,
        // TCP_NODELAY, as py-amqp sets it: amqplib writes each frame as it comes, and with Nagle's
        // algorithm a small frame after another waits for the server's delayed ACK (~40 ms).
        noDelay: socketOptions.noDelay ?? true,
        timeout: connectTimeoutMs,
        clientProperties: { ...socketOptions.clientProperties, connection_name: connectionName },
      },
    );
  }

  #adopt(model: ChannelModel): void {
    const { logger } = this.#options;
    const onError = (error: Error): void => logger.debug("the AMQP connection reported an error", { error });
    const onClose = (error?: Error): void => this.#lost(model, error);
    const onBlocked = (reason: string): void =>
      logger.warn("RabbitMQ blocked the connection; publishes wait", { "tq.reason": reason });
    const onUnblocked = (): void => logger.info("RabbitMQ unblocked the connection");
    model.on("error", onError).on("close", onClose).on("blocked", onBlocked).on("unblocked", onUnblocked);
    this.#detach = () => {
      model
        .off("error", onError)
        .off("close", onClose)
        .off("blocked", onBlocked)
        .off("unblocked", onUnblocked);
    };
    this.#model = model;
    this.#state = "open";
    this.#attempt = 0;
    const generation = ++this.#generation;
    for (const waiter of [...this.#waiters]) waiter.resolve(model);
    for (const listener of [...this.#listeners]) {
      try {
        listener(model, generation);
      } catch (error) {
        logger.error("a connection listener failed", { error });
      }
    }
  }

  #lost(model: ChannelModel, error: Error | undefined): void {
    if (model !== this.#model) return;
    this.#model = undefined;
    this.#detach?.();
    if (this.#state === "closed") return;
    if (this.#options.connection !== null) {
      this.#state = "failed";
      this.#options.logger.warn("the AMQP connection passed in was closed; the broker cannot reopen it", {
        error,
      });
      for (const waiter of [...this.#waiters]) waiter.reject(this.#unavailable());
      return;
    }
    this.#state = "reconnecting";
    this.#options.logger.warn("lost the AMQP connection; reconnecting", { "tq.url": this.target, error });
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    const { initialDelayMs, maxDelayMs, factor, jitter } = this.#options.reconnect;
    const base = Math.min(maxDelayMs, initialDelayMs * factor ** this.#attempt);
    const delayMs = Math.max(0, base * (1 + jitter * (2 * Math.random() - 1)));
    this.#attempt++;
    this.#timer = setTimeout(() => void this.#reconnect(), delayMs);
  }

  async #reconnect(): Promise<void> {
    const { logger } = this.#options;
    let model: ChannelModel;
    try {
      model = await this.#open();
    } catch (error) {
      if (this.#state !== "reconnecting") return;
      logger.warn("reconnecting to RabbitMQ failed; trying again", {
        "tq.url": this.target,
        "tq.attempt": this.#attempt,
        error,
      });
      this.#scheduleReconnect();
      return;
    }
    if (this.#state !== "reconnecting") {
      await model.close().catch(() => undefined);
      return;
    }
    logger.info("reconnected to RabbitMQ", { "tq.url": this.target, "tq.attempt": this.#attempt });
    this.#adopt(model);
  }

  #unavailable(): TqError {
    return this.#state === "closed"
      ? new TqError("TQ_CLOSED", "the AMQP broker is closed", { component: "amqp" })
      : new TqError(
          "TQ_CONNECTION",
          `the AMQP connection to ${this.target} was closed and cannot be reopened`,
          {
            component: "amqp",
          },
        );
  }
}

/** TQ_ABORTED with the signal's reason. */
export function abortedError(reason: unknown): TqError {
  return new TqError("TQ_ABORTED", "the operation was aborted", { cause: reason, component: "amqp" });
}

/** The AMQP reply code of an amqplib error (404 NOT_FOUND, 405 RESOURCE_LOCKED, 406 PRECONDITION_FAILED…). */
export function replyCodeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

/** What RabbitMQ said when it closed a channel (the quoted text of amqplib's message), or the message. */
export function serverTextOf(error: unknown): string {
  const text = messageOf(error);
  return /with message "(.*)"/s.exec(text)?.[1] ?? text;
}

/** The message of an unknown error. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortedError(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortedError(signal.reason));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
