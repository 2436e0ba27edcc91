import type { AsyncResult } from "./async-result.js";
import type { CanvasApp } from "./canvas/canvas-app.js";
import { Chunks } from "./canvas/chunks.js";
import { XMap, XStarMap } from "./canvas/map.js";
import { type SignatureOptions, toCeleryOptions } from "./canvas/options.js";
import { Signature } from "./canvas/signature.js";
import type { Remaining, Suffixes } from "./canvas/types.js";
import type { TaskRoute } from "./config.js";
import type { MessageEmbed } from "./message/types.js";
import { checkTaskRetryOptions } from "./retry-options-check.js";
import { argsSchemaOf, bindCallArguments, taskCallArguments } from "./task-arguments.js";
import { Retry, type RetryOptions } from "./task-errors.js";

/** A task's function: positional arguments in, a value (or a promise of one) out. */
export type TaskFunction<A extends unknown[] = unknown[], R = unknown> = (...args: A) => R | PromiseLike<R>;

/** Per-task settings; unset ones fall back to the app's configuration. */
export interface TaskOptions extends TaskRoute {
  /** Acknowledge after the task ran. Celery: `acks_late`. @default app `taskAcksLate` */
  acksLate?: boolean;
  /** Store no result. Celery: `ignore_result`. @default app `taskIgnoreResult` */
  ignoreResult?: boolean;
  /** Store STARTED when it begins. Celery: `track_started`. @default app `taskTrackStarted` */
  trackStarted?: boolean;
  /** Hard time limit in seconds. Celery: `time_limit`. */
  timeLimit?: number;
  /** Soft time limit in seconds. Celery: `soft_time_limit`. */
  softTimeLimit?: number;
  /** Most retries through `Retry`. Celery: `max_retries`. @default 3 */
  maxRetries?: number | null;
  /** Seconds before a retry that names no countdown. Celery: `default_retry_delay`. @default 180 */
  defaultRetryDelay?: number;
  /** Seconds (or a date) after which an unstarted call expires. Celery: `expires`. */
  expires?: number | Date;
  /**
   * Names of the positional parameters, so that keyword arguments from Python clients
   * (`send_task("tasks.add", kwargs={"x": 1, "y": 2})`) map onto them. Without it, a call with
   * keyword arguments fails with a TypeError, as calling a Python function with unknown ones would.
   */
  params?: readonly string[];
  /** Serializer name for its messages. Celery: `serializer`. @default app `taskSerializer` */
  serializer?: string;
  /**
   * Errors that retry the task by themselves, as if it had thrown `task.retry({ exc })`: error classes
   * (matched with `instanceof` and by `name`, so a class from another copy of a module still matches) or
   * a predicate. Celery: `autoretry_for`.
   */
  autoretryFor?: readonly (ErrorClass | ((error: unknown) => boolean))[];
  /** Errors never retried automatically, even when `autoretryFor` matches. Celery: `dont_autoretry_for`. */
  dontAutoretryFor?: readonly ErrorClass[];
  /** Options of automatic retries (`countdown`, `maxRetries`). Celery: `retry_kwargs`. */
  retryKwargs?: { countdown?: number; maxRetries?: number | null };
  /**
   * Exponential back-off for automatic retries: `true` waits 1, 2, 4, 8… s; a number is the first delay
   * (the factor). Celery: `retry_backoff`. @default false
   */
  retryBackoff?: boolean | number;
  /** Longest back-off delay, seconds. Celery: `retry_backoff_max`. @default 600 */
  retryBackoffMax?: number;
  /** Full jitter: a random delay between 0 and the back-off delay. Celery: `retry_jitter`. @default true */
  retryJitter?: boolean;
  /**
   * Most runs per worker and time unit: `"10/s"`, `"100/m"`, `"1000/h"`, or a number per second; null
   * or `"0"` for none. Per worker, as Celery's. Celery: `rate_limit`. @default app `taskDefaultRateLimit`
   */
  rateLimit?: string | number | null;
  /**
   * With `acksLate`, put the message back (it runs again) when the thread or process running it dies,
   * instead of storing FAILURE `WorkerLostError`. Celery: `reject_on_worker_lost`.
   * @default app `taskRejectOnWorkerLost`
   */
  rejectOnWorkerLost?: boolean;
}

/** A class of errors, for {@link TaskOptions.autoretryFor}. */
// biome-ignore lint/suspicious/noExplicitAny: any constructor signature must be accepted.
export type ErrorClass = abstract new (...args: any[]) => Error;

/** Per-call options of {@link Task.applyAsync} and `app.sendTask`. Names follow Celery's `apply_async`. */
export interface SendTaskOptions extends TaskRoute {
  /** Use this id instead of a new uuid. Celery: `task_id`. */
  taskId?: string;
  /**
   * The message's `reply_to`, where an `rpc://` result backend sends the result. @default the app's
   * rpc backend's reply queue, else none. A retry keeps the original caller's.
   */
  replyTo?: string;
  /** Run no earlier than this many seconds from now (Celery's unit). */
  countdown?: number;
  /** Run no earlier than this time. */
  eta?: Date;
  /** Expire after this many seconds, or at this date. */
  expires?: number | Date;
  /** Extra message headers, merged at the top level as Celery does. */
  headers?: Record<string, unknown>;
  /** Hard time limit in seconds. */
  timeLimit?: number;
  /** Soft time limit in seconds. */
  softTimeLimit?: number;
  /** Store no result for this call. */
  ignoreResult?: boolean;
  /** Serializer name for this call. */
  serializer?: string;
  /** Name to show in logs instead of the task name. Celery: `shadow`. */
  shadow?: string;
  /** Parent task id (set automatically when called from inside a task). */
  parentId?: string;
  /** Root task id (set automatically when called from inside a task). */
  rootId?: string;
  /** Retry count to send (used by retries). */
  retries?: number;
  /** Group id and position, for canvas. */
  groupId?: string;
  groupIndex?: number;
  /** Callbacks, errbacks, remaining chain steps and chord body to carry (retries keep them). */
  embed?: Partial<MessageEmbed>;
  /** Aborts a publish that is waiting. */
  signal?: AbortSignal;
}

/** The part of the app a task needs to send itself and to make its signatures (canvas). */
export interface TaskSender extends CanvasApp {
  sendTask<R>(
    name: string,
    args: unknown[],
    kwargs: Record<string, unknown>,
    options: SendTaskOptions,
  ): AsyncResult<R>;
}

/**
 * A registered task. `A` and `R` come from its function, so calls are checked:
 * `add.delay("x", 1)` does not compile and `add.delay(2, 3).get()` resolves to a number.
 */
export class Task<A extends unknown[] = unknown[], R = unknown> {
  /** Registered name, e.g. `tasks.add`. */
  readonly name: string;
  /** Its settings. */
  readonly options: Readonly<TaskOptions>;
  /** The function itself; call it directly to run the task in-process (Celery's `task(...)`). */
  readonly fn: TaskFunction<A, R>;
  readonly #sender: TaskSender;

  constructor(name: string, fn: TaskFunction<A, R>, options: TaskOptions, sender: TaskSender) {
    checkTaskRetryOptions(name, options);
    this.name = name;
    this.fn = fn;
    this.options = Object.freeze({ ...options });
    this.#sender = sender;
  }

  /** Sends the task with positional arguments. Returns at once; the task runs on a worker. */
  delay(...args: A): AsyncResult<R> {
    return this.#sender.sendTask<R>(this.name, args, {}, this.#defaults({}));
  }

  /** Sends the task with arguments, keyword arguments and call options (Celery's `apply_async`). */
  applyAsync(args: A, kwargs: Record<string, unknown> = {}, options: SendTaskOptions = {}): AsyncResult<R> {
    return this.#sender.sendTask<R>(this.name, args, kwargs, this.#defaults(options));
  }

  /**
   * A signature of this task with its last arguments bound (Celery's `task.s(...)`): in a chain the
   * previous result is prepended, so `chain(add.s(2, 2), add.s(4))` computes `add(add(2, 2), 4)`. Its
   * type says which arguments are still to come: `add.s(4)` is a `Signature<[x: number], number>`.
   */
  s<G extends Suffixes<A>>(...args: G): Signature<Remaining<A, G>, R> {
    return new Signature<Remaining<A, G>, R>(this.name, { args, app: this.#sender });
  }

  /**
   * An immutable signature with all its arguments (Celery's `task.si(...)`): a chain or a callback
   * does not prepend its result, so it fits after any step.
   */
  si(...args: A): Signature<unknown[], R> {
    return new Signature<unknown[], R>(this.name, { args, immutable: true, app: this.#sender });
  }

  /**
   * A signature with arguments, keyword arguments and call options (Celery's
   * `task.signature(args, kwargs, **options)`); `immutable` makes it an `si()`. Unchecked arguments.
   */
  signature(
    args: readonly unknown[] = [],
    kwargs: Record<string, unknown> = {},
    options: SignatureOptions & { immutable?: boolean } = {},
  ): Signature<unknown[], R> {
    const { immutable, ...rest } = options;
    return new Signature<unknown[], R>(this.name, {
      args,
      kwargs,
      options: toCeleryOptions(rest),
      immutable: immutable ?? false,
      app: this.#sender,
    });
  }

  /**
   * One `celery.map` message that calls this task on each item in turn, on one worker (Celery's
   * `task.map(it)`); `get()` gives the list of results.
   */
  map(items: Iterable<A extends [infer First, ...unknown[]] ? First : unknown>): XMap<R> {
    return new XMap<R>(this.#unbound(), items, { app: this.#sender });
  }

  /** One `celery.starmap` message that calls this task with each argument list (Celery's `task.starmap(it)`). */
  starmap(items: Iterable<A>): XStarMap<R> {
    return new XStarMap<R>(this.#unbound(), items, { app: this.#sender });
  }

  /**
   * The argument lists split into parts of `n`, one `celery.starmap` message each, sent as a group
   * (Celery's `task.chunks(it, n)`); `get()` gives one list of results per part.
   */
  chunks(items: Iterable<A>, n: number): Chunks<R> {
    return new Chunks<R>(this.#unbound(), items, n, { app: this.#sender });
  }

  // The task's signature with nothing bound, as Celery's map/starmap/chunks take `self.s()`.
  #unbound(): Signature<unknown[], R> {
    return new Signature<unknown[], R>(this.name, { app: this.#sender });
  }

  /**
   * Runs the function in this process with these arguments (no broker, no worker), checked by its
   * `args` schema first when it has one (the function gets the validated values).
   */
  async call(...args: A): Promise<R> {
    if (!argsSchemaOf(this as unknown as Task)) return await this.fn(...args);
    return await this.fn(...((await taskCallArguments(this as unknown as Task, args, {})) as A));
  }

  /**
   * Asks for the running call to be retried later, as Celery's `self.retry()`: throws a {@link Retry}
   * whose cause is `exc`. Write it `throw task.retry({ exc: error, countdown: 5 })`, as Celery's
   * `raise self.retry(...)`: the call itself throws (its type is `never`), and the `throw` tells readers
   * and TypeScript's flow analysis that nothing after it runs. It only throws, so it works in every
   * pool; the worker then sends the task again (same id, one more `retries`) or, once `maxRetries` is
   * spent, fails it with `exc`. Outside a worker (`task.call()`) the `Retry` reaches the caller.
   */
  retry(options: RetryOptions = {}): never {
    throw new Retry(options);
  }

  #defaults(options: SendTaskOptions): SendTaskOptions {
    const {
      queue,
      exchange,
      routingKey,
      priority,
      expires,
      timeLimit,
      softTimeLimit,
      ignoreResult,
      serializer,
    } = this.options;
    const defaults: SendTaskOptions = {
      queue,
      exchange,
      routingKey,
      priority,
      expires,
      timeLimit,
      softTimeLimit,
    };
    if (ignoreResult !== undefined) defaults.ignoreResult = ignoreResult;
    if (serializer !== undefined) defaults.serializer = serializer;
    const merged: SendTaskOptions = { ...defaults };
    for (const [key, value] of Object.entries(options)) {
      if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
    }
    return merged;
  }
}

/** Builds the positional arguments for a call from args and kwargs, as Python would bind them. */
export function bindArguments(
  task: Task,
  args: readonly unknown[],
  kwargs: Record<string, unknown>,
): unknown[] {
  return bindCallArguments(task, args, kwargs);
}
