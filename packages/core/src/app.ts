import { randomUUID } from "node:crypto";
import { AsyncResult, noBackendError, type ResultSource } from "./async-result.js";
import type { Broker } from "./broker.js";
import { type AppConfig, configFromEnv, resolveConfig } from "./config.js";
import { Control } from "./control/control.js";
import { TqError } from "./errors.js";
import { jsonSerializer } from "./json-serializer.js";
import { type Logger, noopLogger } from "./logger.js";
import { buildTaskMessage } from "./message/build.js";
import { anonNodeName } from "./node-name.js";
import { createBroker, createResultBackend, registerTransport, type TransportPlugin } from "./registry.js";
import type { ResultBackend } from "./result-backend.js";
import { matchRoute } from "./routing.js";
import type { Serializer } from "./serializer.js";
import type { TqSignals } from "./signal-payloads.js";
import { createAppSignals, type Signals } from "./signals.js";
import { type SendTaskOptions, Task, type TaskFunction, type TaskOptions } from "./task.js";
import {
  type ArgsSchema,
  argsSchemaOf,
  isStandardSchema,
  type SchemaInputArgs,
  type SchemaOutputArgs,
  type SchemaTaskOptions,
  validateTaskArguments,
} from "./task-arguments.js";
import { currentTask } from "./task-request.js";

/** Options of {@link createApp}: any {@link AppConfig} setting, plus instances and plugins. */
export interface AppOptions extends Partial<Omit<AppConfig, "resultBackend">> {
  /** The app's name (Celery's `main`), used in logs. @default "tq" */
  name?: string;
  /** A broker instance, or a URL (same as `brokerUrl`). */
  broker?: Broker | string;
  /** A result backend instance, a URL, or null for none. */
  resultBackend?: ResultBackend | string | null;
  /** Transport plugins to register, e.g. `[redisTransport]`. */
  transports?: readonly TransportPlugin[];
  /** Extra serializers, by content type. JSON is built in. */
  serializers?: readonly Serializer[];
  /** Logger for the app. @default a no-op logger */
  logger?: Logger;
  /** Environment to read `TQ_*` settings from, or false to ignore it. @default process.env */
  env?: Record<string, string | undefined> | false;
}

/** Settings that may change after the app was created, e.g. by the CLI's `--broker`. */
export type AppOverrides = Pick<AppOptions, "broker" | "brokerUrl" | "resultBackend">;

/**
 * A tq application: its settings, its tasks, and the broker and result backend it sends through.
 * Create it with {@link createApp}. Nothing connects until the first send or `connect()`.
 */
export class App implements ResultSource {
  /** The app's name. */
  readonly name: string;
  /** Resolved settings. */
  readonly conf: AppConfig;
  /** The app's logger. */
  readonly logger: Logger;
  /**
   * Hooks matching Celery's signals: `app.signals.on("taskPrerun", handler)` returns a function that
   * disconnects it. The app sends `beforeTaskPublish`/`afterTaskPublish`; a worker running this app
   * sends the task and worker signals. See {@link TqSignals}.
   */
  readonly signals: Signals<TqSignals>;
  readonly #tasks = new Map<string, Task>();
  readonly #serializers = new Map<string, Serializer>();
  #brokerSource: Broker | string;
  #backendSource: ResultBackend | string | null;
  #broker: Broker | undefined;
  #backend: ResultBackend | undefined;
  #ownsBroker = false;
  #ownsBackend = false;
  #brokerConnect: Promise<Broker> | undefined;
  #backendConnect: Promise<ResultBackend> | undefined;
  readonly #origin = anonNodeName();
  #control: Control | undefined;

  constructor(options: AppOptions = {}) {
    const { name, broker, resultBackend, transports, serializers, logger, env, ...settings } = options;
    this.name = name ?? "tq";
    this.logger = logger ?? noopLogger;
    this.signals = createAppSignals(this.logger);
    for (const plugin of transports ?? []) registerTransport(plugin);
    const fromEnv = env === false ? {} : configFromEnv(env ?? process.env);
    const explicit: Partial<AppConfig> = { ...settings };
    if (typeof broker === "string") explicit.brokerUrl = broker;
    if (typeof resultBackend === "string" || resultBackend === null) explicit.resultBackend = resultBackend;
    this.conf = resolveConfig(explicit, fromEnv);
    this.#brokerSource = typeof broker === "object" ? broker : this.conf.brokerUrl;
    this.#backendSource =
      typeof resultBackend === "object" && resultBackend !== null ? resultBackend : this.conf.resultBackend;
    this.#serializers.set(jsonSerializer.contentType, jsonSerializer);
    for (const serializer of serializers ?? []) this.#serializers.set(serializer.contentType, serializer);
  }

  /**
   * Registers a task whose arguments are checked by a schema (`options.args`, any Standard Schema):
   * `app.task("tasks.add", (x, y) => x + y, { args: z.tuple([z.number(), z.number()]) })` gives a
   * `Task<[number, number], number>`: callers pass the schema's input types, the function receives its
   * output types (validated, transformed), and a bad call throws `TaskArgumentsError` before it is sent.
   */
  task<S extends ArgsSchema, R>(
    name: string,
    fn: (...args: SchemaOutputArgs<S>) => R | PromiseLike<R>,
    options: SchemaTaskOptions<S>,
  ): Task<SchemaInputArgs<S>, Awaited<R>>;
  /**
   * Registers a task. Its argument and return types come from `fn`:
   * `app.task("tasks.add", (x: number, y: number) => x + y)` gives a `Task<[number, number], number>`.
   */
  task<A extends unknown[], R>(
    name: string,
    fn: TaskFunction<A, R>,
    options?: TaskOptions,
  ): Task<A, Awaited<R>>;
  task<A extends unknown[], R>(
    name: string,
    fn: TaskFunction<A, R>,
    options: TaskOptions = {},
  ): Task<A, Awaited<R>> {
    if (this.#tasks.has(name)) {
      throw new TqError("TQ_CONFIG", `a task named "${name}" is already registered in app "${this.name}"`);
    }
    const schema = (options as Partial<SchemaTaskOptions>).args;
    if (schema !== undefined && !isStandardSchema(schema)) {
      throw new TqError(
        "TQ_CONFIG",
        `the args option of task "${name}" must be a Standard Schema (zod ≥3.24, valibot ≥1, arktype ≥2…)`,
      );
    }
    const task = new Task<A, Awaited<R>>(name, fn as TaskFunction<A, Awaited<R>>, options, this);
    this.#tasks.set(name, task as unknown as Task);
    return task;
  }

  /** Registered tasks by name. */
  get tasks(): ReadonlyMap<string, Task> {
    return this.#tasks;
  }

  /**
   * Remote control of workers (Celery's `app.control`): `app.control.revoke(id, { terminate })`,
   * `app.control.rateLimit(name, "10/s")`, sent over the broker's broadcast in Celery's format.
   */
  get control(): Control {
    this.#control ??= new Control(this);
    return this.#control;
  }

  /** Serializers by content type (JSON is always there). */
  get serializers(): ReadonlyMap<string, Serializer> {
    return this.#serializers;
  }

  /** The serializer for a name (`json`) or content type (`application/json`); throws `TQ_CONFIG` if unknown. */
  serializer(nameOrContentType: string): Serializer {
    for (const serializer of this.#serializers.values()) {
      if (serializer.name === nameOrContentType || serializer.contentType === nameOrContentType)
        return serializer;
    }
    throw new TqError(
      "TQ_CONFIG",
      `unknown serializer "${nameOrContentType}" (known: ${[...this.#serializers.values()].map((s) => s.name).join(", ")})`,
    );
  }

  /** Changes the broker or result backend before anything connected (the CLI's `--broker`). */
  configure(overrides: AppOverrides): void {
    if (this.#broker || this.#backend) {
      throw new TqError("TQ_CONFIG", "configure() must be called before the app connects");
    }
    const broker = overrides.broker ?? overrides.brokerUrl;
    if (broker !== undefined) {
      this.#brokerSource = broker;
      if (typeof broker === "string") this.conf.brokerUrl = broker;
    }
    if (overrides.resultBackend !== undefined) {
      this.#backendSource = overrides.resultBackend;
      if (typeof overrides.resultBackend === "string" || overrides.resultBackend === null) {
        this.conf.resultBackend = overrides.resultBackend;
      }
    }
  }

  /** The broker, created from its URL on first use and connected. */
  async getBroker(): Promise<Broker> {
    this.#brokerConnect ??= (async () => {
      const broker = this.#brokerInstance();
      await broker.connect();
      return broker;
    })();
    this.#brokerConnect.catch(() => {
      this.#brokerConnect = undefined;
    });
    return this.#brokerConnect;
  }

  /** The result backend, created from its URL on first use and connected; rejects when there is none. */
  async getBackend(): Promise<ResultBackend> {
    this.#backendConnect ??= (async () => {
      const backend = this.#backendInstance();
      await backend.connect();
      return backend;
    })();
    this.#backendConnect.catch(() => {
      this.#backendConnect = undefined;
    });
    return this.#backendConnect;
  }

  /** True when the app has a result backend configured. */
  get hasResultBackend(): boolean {
    return this.#backendSource !== null;
  }

  /** Connects the broker and the result backend now rather than on first use. */
  async connect(): Promise<void> {
    await this.getBroker();
    if (this.hasResultBackend) await this.getBackend();
  }

  /** Closes the broker and backend the app created from URLs; instances passed in are left open. */
  async close(): Promise<void> {
    const broker = this.#ownsBroker ? this.#broker : undefined;
    const backend = this.#ownsBackend ? this.#backend : undefined;
    this.#broker = this.#backend = undefined;
    this.#brokerConnect = this.#backendConnect = undefined;
    await Promise.all([broker?.close(), backend?.close()]);
  }

  /** A handle on a task's result by id (Celery's `app.AsyncResult(id)`). */
  asyncResult<R = unknown>(taskId: string): AsyncResult<R> {
    return new AsyncResult<R>(taskId, this);
  }

  /**
   * Sends a task by name, for tasks defined elsewhere (another service, a Python worker).
   * Returns at once; `result.sent` settles when the broker accepted the message. A task registered
   * here with an `args` schema is checked first: a bad call throws `TaskArgumentsError` (or rejects
   * `result.sent`, for a schema that validates asynchronously) and nothing is sent.
   */
  sendTask<R = unknown>(
    name: string,
    args: readonly unknown[] = [],
    kwargs: Record<string, unknown> = {},
    options: SendTaskOptions = {},
  ): AsyncResult<R> {
    const id = options.taskId ?? randomUUID();
    const task = this.#tasks.get(name);
    const schema = task && argsSchemaOf(task);
    // A synchronous schema throws here, before anything is sent; an async one is awaited before publishing.
    const checked = schema ? validateTaskArguments(task!, schema, args, kwargs) : undefined;
    const published = this.#publishTask(id, name, args, kwargs, options, checked);
    published.catch((error: unknown) => {
      this.logger.error("publishing a task failed", { "tq.task_id": id, "tq.task_name": name, error });
    });
    return new AsyncResult<R>(id, this, published);
  }

  async #publishTask(
    id: string,
    name: string,
    args: readonly unknown[],
    kwargs: Record<string, unknown>,
    options: SendTaskOptions,
    checked: unknown,
  ): Promise<void> {
    const route = { ...matchRoute(this.conf.taskRoutes, name), ...definedOnly(options) };
    const queue = route.queue ?? this.conf.taskDefaultQueue;
    const now = Date.now();
    const eta =
      options.eta ?? (options.countdown === undefined ? null : new Date(now + options.countdown * 1000));
    const expires =
      options.expires === undefined
        ? null
        : options.expires instanceof Date
          ? options.expires
          : new Date(now + options.expires * 1000);
    const parent = currentTask();
    const priority = route.priority ?? this.conf.taskDefaultPriority ?? undefined;
    // The message carries the arguments as the caller gave them: the worker validates them again.
    if (checked instanceof Promise) await checked;
    const replyTo = await this.#replyQueue(options);
    const message = buildTaskMessage(
      {
        id,
        ...(replyTo === undefined ? {} : { replyTo }),
        task: name,
        args: [...args],
        kwargs,
        eta,
        expires,
        rootId: options.rootId ?? parent?.rootId ?? id,
        parentId: options.parentId ?? parent?.id ?? null,
        group: options.groupId ?? null,
        groupIndex: options.groupIndex ?? null,
        shadow: options.shadow ?? null,
        retries: options.retries ?? 0,
        timeLimit: [
          options.timeLimit ?? this.conf.taskTimeLimit ?? null,
          options.softTimeLimit ?? this.conf.taskSoftTimeLimit ?? null,
        ],
        origin: this.#origin,
        ignoreResult: options.ignoreResult ?? this.conf.taskIgnoreResult,
        ...(priority === undefined ? {} : { priority }),
        ...(options.headers ? { headers: options.headers } : {}),
        ...(options.embed ? { embed: options.embed } : {}),
      },
      this.serializer(options.serializer ?? this.conf.taskSerializer),
    );
    const broker = await this.getBroker();
    const deliverAt = eta && broker.capabilities.delayedDelivery && eta.getTime() > now ? eta : undefined;
    const target = { exchange: route.exchange ?? "", routingKey: route.routingKey ?? queue };
    const { signals } = this;
    if (signals.has("beforeTaskPublish")) {
      const { headers, properties } = message;
      signals.emit("beforeTaskPublish", {
        taskId: id,
        taskName: name,
        args,
        kwargs,
        headers,
        properties,
        ...target,
      });
    }
    await broker.publish(message, target, {
      ...(deliverAt ? { deliverAt } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (signals.has("afterTaskPublish")) {
      const { headers } = message;
      signals.emit("afterTaskPublish", { taskId: id, taskName: name, args, kwargs, headers, ...target });
    }
  }

  #brokerInstance(): Broker {
    if (!this.#broker) {
      const source = this.#brokerSource;
      this.#ownsBroker = typeof source === "string";
      this.#broker =
        typeof source === "string"
          ? createBroker(source, {
              logger: this.logger,
              transportOptions: this.conf.brokerTransportOptions,
            })
          : source;
    }
    return this.#broker;
  }

  /**
   * The reply queue of a backend that receives results itself (rpc://), connected so that its queue
   * exists before the task can finish; undefined for result stores.
   */
  async #replyQueue(options: SendTaskOptions): Promise<string | undefined> {
    if (options.replyTo !== undefined) return options.replyTo;
    if (!this.hasResultBackend) return undefined;
    const backend = this.#backendInstance();
    if (backend.replyTo === undefined) return undefined;
    await this.getBackend();
    return backend.replyTo;
  }

  #backendInstance(): ResultBackend {
    if (!this.#backend) {
      const source = this.#backendSource;
      if (source === null) throw noBackendError();
      this.#ownsBackend = typeof source === "string";
      this.#backend =
        typeof source === "string"
          ? createResultBackend(source, {
              logger: this.logger,
              transportOptions: this.conf.resultBackendTransportOptions,
              brokerUrl: this.conf.brokerUrl,
              resultExpiresMs: this.conf.resultExpires === null ? null : this.conf.resultExpires * 1000,
            })
          : source;
    }
    return this.#backend;
  }
}

/** Creates an app. `createApp()` alone runs on the in-memory transport in one process. */
export function createApp(options: AppOptions = {}): App {
  return new App(options);
}

function definedOnly(options: SendTaskOptions): {
  queue?: string;
  exchange?: string;
  routingKey?: string;
  priority?: number;
} {
  const out: { queue?: string; exchange?: string; routingKey?: string; priority?: number } = {};
  if (options.queue !== undefined) out.queue = options.queue;
  if (options.exchange !== undefined) out.exchange = options.exchange;
  if (options.routingKey !== undefined) out.routingKey = options.routingKey;
  if (options.priority !== undefined) out.priority = options.priority;
  return out;
}
