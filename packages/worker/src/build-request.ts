import type { DeliveryInfo, TaskMessage, TaskRequest, TaskStateName } from "@tq/core";

/**
 * How a message was delivered, as plain data. A broker's `Delivery` is one; a pool's child passes an
 * object literal with the fields its parent sent it.
 */
export interface RequestDelivery {
  /** Queue it was consumed from. */
  readonly queue: string;
  /** True when the broker delivered it before. */
  readonly redelivered: boolean;
  /** Exchange it was published to, if the broker says. @default "" */
  readonly exchange?: string | undefined;
  /** Routing key it was published with, if the broker says. @default the queue name */
  readonly routingKey?: string | undefined;
}

/** Where a request's `signal` comes from: a worker's `Job`, or a child's `{ signal }`. */
export interface SignalSource {
  /** Read when the task reads `request.signal`, so that the source can make it lazily. */
  readonly signal: AbortSignal;
}

/** Stores a state document for a request; see `createStateUpdater` in update-state.ts. */
export type StateUpdater = (request: TaskRequest, state: TaskStateName, meta: unknown) => Promise<void>;

/**
 * Builds the `TaskRequest` a running task reads through `currentTask()` from plain data, so the worker
 * and a threads/processes pool's child build the same request.
 *
 * One object per task and nothing else: the worker builds a request for every task it runs, so
 * `signal` and `deliveryInfo` are prototype getters (`deliveryInfo` is made when first read), and the
 * signal source and updater are objects that already exist (the worker passes the job and one
 * updater for all its tasks) rather than closures made per task. `signal` and `deliveryInfo` are not
 * own properties: spreading a request (`{ ...request }`) leaves them out.
 */
export function createTaskRequest(
  message: TaskMessage,
  delivery: RequestDelivery,
  hostname: string,
  signalSource: SignalSource,
  updater: StateUpdater,
): TaskRequest {
  return new WorkerTaskRequest(message, delivery, hostname, signalSource, updater);
}

class WorkerTaskRequest implements TaskRequest {
  readonly id: string;
  readonly name: string;
  readonly args: readonly unknown[];
  readonly kwargs: Readonly<Record<string, unknown>>;
  readonly retries: number;
  readonly rootId: string;
  readonly parentId: string | null;
  readonly groupId: string | null;
  readonly eta: Date | null;
  readonly expires: Date | null;
  readonly hostname: string;
  readonly queue: string;
  readonly redelivered: boolean;
  readonly headers: Readonly<Record<string, unknown>>;
  readonly message: TaskMessage;
  readonly #delivery: RequestDelivery;
  readonly #signalSource: SignalSource;
  readonly #updater: StateUpdater;
  #deliveryInfo: DeliveryInfo | undefined;

  constructor(
    message: TaskMessage,
    delivery: RequestDelivery,
    hostname: string,
    signalSource: SignalSource,
    updater: StateUpdater,
  ) {
    this.id = message.id;
    this.name = message.task;
    this.args = message.args;
    this.kwargs = message.kwargs;
    this.retries = message.retries;
    this.rootId = message.rootId;
    this.parentId = message.parentId;
    this.groupId = message.group;
    this.eta = message.eta;
    this.expires = message.expires;
    this.hostname = hostname;
    this.queue = delivery.queue;
    // kombu's Redis transport marks restored messages with a header rather than a broker flag.
    this.redelivered = delivery.redelivered || message.headers.redelivered === true;
    this.headers = message.headers;
    this.message = message;
    this.#delivery = delivery;
    this.#signalSource = signalSource;
    this.#updater = updater;
  }

  get signal(): AbortSignal {
    return this.#signalSource.signal;
  }

  get deliveryInfo(): DeliveryInfo {
    if (!this.#deliveryInfo) {
      const { exchange, routingKey } = this.#delivery;
      const priority = this.message.properties.priority;
      this.#deliveryInfo = Object.freeze({
        exchange: exchange ?? "",
        routingKey: routingKey || this.queue,
        priority: typeof priority === "number" ? priority : null,
        redelivered: this.redelivered,
      });
    }
    return this.#deliveryInfo;
  }

  updateState(state: TaskStateName, meta?: unknown): Promise<void> {
    return this.#updater(this, state, meta);
  }
}
