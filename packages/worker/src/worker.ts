import { EventEmitter } from "node:events";
import {
  type App,
  type Broker,
  type Consumer,
  type Delivery,
  isLevelEnabled,
  type Logger,
  pidboxExchange,
  type Serializer,
  TqError,
} from "@tq/core";
import { controlCommands } from "./control/control-commands.js";
import { PidboxNode } from "./control/pidbox-node.js";
import { DeadLetters } from "./dead-letters.js";
import { Deferrer } from "./defer.js";
import { EtaGate } from "./eta-gate.js";
import type { EmitWorkerEvent, WorkerEvents } from "./events.js";
import { Executor, isExpired } from "./executor.js";
import { acceptedSerializers, inspectDelivery } from "./intake.js";
import { Job } from "./job.js";
import { type ResolvedWorkerOptions, resolveWorkerOptions, type WorkerOptions } from "./options.js";
import { Autoscaler } from "./pool/autoscaler.js";
import { createPool } from "./pool/create-pool.js";
import type { Pool, PoolStats } from "./pool/pool.js";
import { checkTaskRateLimits, type RateLimit, rateLimitChange, taskRateLookup } from "./rate-limit.js";
import { type RejectionContext, rejectMessage } from "./reject-message.js";
import { ResultWriter } from "./result-writer.js";
import { Revocations } from "./revocation/revocations.js";
import { Scheduler } from "./scheduler.js";
import { installSignalHandlers, type SignalHandlerOptions } from "./signals.js";
import type { WorkerStats } from "./stats.js";
import { setLongTimeout } from "./timers.js";
import { WorkerHeartbeat } from "./worker-events.js";

/** Options of {@link Worker.stop}. */
export interface StopOptions {
  /** How long to wait for running tasks, in ms; a later call may shorten it. @default the worker's `shutdownTimeoutMs` */
  timeoutMs?: number;
}

type WorkerState = "created" | "starting" | "running" | "stopping" | "stopped";

/**
 * Consumes task messages and runs them: Celery's worker for tq. Create it with {@link createWorker},
 * then `await worker.start()`. Listen to its {@link WorkerEvents} with `worker.on(...)`.
 *
 * In the `async` and `solo` pools a JavaScript task cannot be killed from outside: at its hard time
 * limit, or at the shutdown deadline, the worker aborts the task's `currentTask().signal`, frees its
 * slot and moves on, and the promise may keep running in the background until the task notices the
 * signal. Pass the signal to `fetch`, timers and drivers so that it does. The `threads` and
 * `processes` pools kill the thread or process running the task.
 */
export class Worker extends EventEmitter<WorkerEvents> {
  /** The worker's node name, e.g. `celery@host`. */
  readonly hostname: string;
  /** The app whose tasks it runs. */
  readonly app: App;
  /** The queues it consumes. */
  readonly queues: readonly string[];
  readonly #options: ResolvedWorkerOptions;
  readonly #logger: Logger;
  readonly #serializers: readonly Serializer[];
  readonly #results: ResultWriter;
  readonly #scheduler: Scheduler;
  readonly #background = new Set<Promise<unknown>>();
  readonly #revocations: Revocations;
  #pidbox: PidboxNode | undefined;
  #state: WorkerState = "created";
  #executor: Executor | undefined;
  #etaGate: EtaGate | undefined;
  #deferrer: Deferrer | undefined;
  #rejectionContext: RejectionContext | undefined;
  #consumer: Consumer | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #deadlineAt = Number.POSITIVE_INFINITY;
  #onDeadlineChange: (() => void) | undefined;
  #keepAlive: NodeJS.Timeout | undefined;
  #heartbeat: WorkerHeartbeat | undefined;
  #abandoned = 0;
  #pool: Pool | undefined;
  #autoscaler: Autoscaler | undefined;

  constructor(app: App, options: WorkerOptions = {}) {
    super();
    this.app = app;
    this.#options = resolveWorkerOptions(app, options);
    this.hostname = this.#options.hostname;
    this.queues = this.#options.queues;
    this.#logger = this.#options.logger;
    this.#serializers = acceptedSerializers(app);
    this.#results = new ResultWriter(app, this.hostname, this.#logger);
    this.#scheduler = new Scheduler(
      this.#options.pool.initialConcurrency,
      (job) => this.#executor!.execute(job),
      (error, job) =>
        this.#logger.error("unexpected error while running a task", { ...job.attributes(), error }),
      this.#options.disableRateLimits
        ? undefined
        : { rateFor: taskRateLookup(app, this.#logger), bypass: isExpired },
    );
    checkTaskRateLimits(app);
    this.#revocations = new Revocations({
      hostname: this.hostname,
      logger: this.#logger,
      stateDb: this.#options.stateDb,
    });
    this.#revocations.attach({
      takePending: (match) => this.#scheduler.takeMatching(match),
      running: () => this.#scheduler.running,
      discard: (job) => void this.#track(this.#executor!.discardRevoked(job)),
    });
  }

  /** Running tasks that stop() gave up on at its deadline (their messages were given back). */
  get abandoned(): number {
    return this.#abandoned;
  }

  /** How many tasks are running now. */
  get active(): number {
    return this.#scheduler.running.size;
  }

  /** What the worker holds now: running, waiting and ETA-held tasks, and the ETA hold bound. */
  stats(): WorkerStats {
    const scheduler = this.#scheduler;
    return {
      running: scheduler.running.size,
      waiting: scheduler.waiting,
      held: scheduler.held,
      rateLimited: scheduler.rateLimited,
      heldPeak: scheduler.heldPeak,
      etaHoldCapacity: this.#etaGate?.capacity ?? holdBound(this.#options),
      deferred: this.#deferrer?.deferred ?? 0,
      pool: this.#poolStats(),
    };
  }

  #poolStats(): PoolStats {
    const { name, maxConcurrency } = this.#options.pool;
    const now = this.#pool?.stats() ?? { implementation: name, processes: [], busy: 0, replaced: 0 };
    return { ...now, maxConcurrency, concurrency: this.#scheduler.concurrency };
  }

  /**
   * Changes the rate limit of a task on this worker (`"10/s"`, `"100/m"`, `"1000/h"`, a number per
   * second; null or `"0"` removes it), for its messages already waiting for their turn too. It lasts
   * for the worker's life and has no effect with `disableRateLimits`. Celery's `rate_limit` control
   * command (`app.control.rate_limit(...)`).
   * @throws TqError `TQ_CONFIG` for a task not registered here (Celery replies "unknown task") or a
   *   value that is not a rate.
   */
  setRateLimit(taskName: string, rate: RateLimit): void {
    const perSecond = rateLimitChange(this.app, taskName, rate);
    this.#scheduler.setRateLimit(taskName, perSecond);
    this.#logger.info(perSecond === 0 ? "rate limit removed" : "rate limit changed", {
      "tq.task_name": taskName,
      "tq.rate_limit": perSecond === 0 ? "none" : String(rate),
      "tq.rate_limits_disabled": this.#options.disableRateLimits,
    });
  }

  /** Connects the broker (and the result backend, if any), declares and consumes the queues, then emits `ready`. */
  start(): Promise<void> {
    if (this.#state === "stopping" || this.#state === "stopped") {
      return Promise.reject(
        new TqError("TQ_CLOSED", "this worker was stopped; create a new one", { component: "worker" }),
      );
    }
    // A start that failed (broker down) may be tried again.
    this.#starting ??= this.#start().catch((error: unknown) => {
      this.#starting = undefined;
      if (this.#state === "starting") this.#state = "created";
      throw error;
    });
    return this.#starting;
  }

  /**
   * Stops gracefully: cancels the consumer, puts back messages that did not start, waits for running
   * tasks up to the timeout, then aborts those left and gives their messages back (requeued if not
   * acked yet, published again if acked early), and closes the app. Idempotent: later calls return the
   * same promise, and may only shorten the wait.
   */
  stop(options: StopOptions = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? this.#options.shutdownTimeoutMs);
    if (deadline < this.#deadlineAt) {
      this.#deadlineAt = deadline;
      this.#onDeadlineChange?.();
    }
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  /**
   * Stops the worker on SIGINT or SIGTERM, then sets `process.exitCode` to 0 (or exits, with
   * `exit: true`); a second signal stops it at once. Returns a function that removes the handlers.
   */
  installSignalHandlers(options: SignalHandlerOptions = {}): () => void {
    return installSignalHandlers(this, this.#logger, options);
  }

  async #start(): Promise<void> {
    this.#state = "starting";
    // Tasks registered since the worker was created are checked too, before anything connects.
    checkTaskRateLimits(this.app);
    // Revoked ids saved by the last run (--statedb) apply before the first message is taken.
    await this.#revocations.load();
    const { queues, concurrency, prefetch } = this.#options;
    await this.app.connect();
    const broker = await this.app.getBroker();
    const emit: EmitWorkerEvent = (event, ...args) => this.#emit(event, ...args);
    const listens = (event: keyof WorkerEvents): boolean => this.#listens(event);
    this.#etaGate = new EtaGate({
      delayedDelivery: broker.capabilities.delayedDelivery,
      capacity: holdBound(this.#options),
      horizonMs: this.#options.etaHoldHorizonMs,
    });
    const stopping = (): boolean => this.#state === "stopping" || this.#state === "stopped";
    const hold = (job: Job): void => this.#scheduler.add(job);
    this.#deferrer = new Deferrer({ broker, logger: this.#logger, emit, hold, stopping });
    const common = { logger: this.#logger, results: this.#results, emit };
    const pool = await this.#startPool();
    this.#executor = new Executor({
      ...common,
      app: this.app,
      broker,
      hostname: this.hostname,
      listens,
      pool,
      timeLimits: this.#options.pool.timeLimits,
      isRevoked: (taskId) => this.#revocations.has(taskId),
    });
    const deadLetters = new DeadLetters(broker, this.#logger, this.#options.deadLetterQueueFor);
    this.#rejectionContext = { ...common, deadLetters };
    await broker.declareQueues?.(queues.map((name) => ({ name })));
    await this.#startRemoteControl(broker);
    this.#consumer = await broker.consume(queues, (delivery) => this.#onDelivery(delivery), { prefetch });
    if (this.#state !== "starting") return;
    this.#state = "running";
    // A worker is a service: its process must not exit while it consumes just because the transport
    // holds no handle of its own (the memory transport holds none). Released by stop().
    this.#keepAlive = setInterval(() => {}, 1 << 30);
    this.#logger.info("worker ready", {
      "tq.hostname": this.hostname,
      "tq.queues": queues.join(","),
      "tq.concurrency": concurrency,
      "tq.pool": pool.name,
      "tq.prefetch": prefetch,
      "tq.eta_hold_capacity": this.#etaGate.capacity,
    });
    this.#autoscaler?.start();
    this.#emit("ready");
    this.app.signals.emit("workerReady", { hostname: this.hostname, queues: this.queues }, this.#logger);
    await this.#startHeartbeat(broker);
  }

  // The children of a threads/processes pool load the app before the first message is taken, so that an
  // app module they cannot load fails start() rather than every task.
  async #startPool(): Promise<Pool> {
    await this.#pool?.close();
    const pool = createPool(this.#options.pool, this.#logger);
    this.#pool = pool;
    try {
      await pool.start();
    } catch (error) {
      this.#pool = undefined;
      await pool.close();
      throw error;
    }
    const { autoscale } = this.#options.pool;
    if (autoscale) {
      const resizePool = (size: number): void => pool.resize(size);
      this.#autoscaler = new Autoscaler(autoscale, this.#scheduler, resizePool, this.#logger);
    }
    return pool;
  }

  // Listens to `<controlExchange>.pidbox` (revoke, rate_limit) before consuming, so that a revoke sent
  // once the worker is ready reaches it. Brokers without broadcast (SQS) have no remote control.
  async #startRemoteControl(broker: Broker): Promise<void> {
    await this.#pidbox?.stop();
    const target = {
      revocations: this.#revocations,
      setRateLimit: (taskName: string, rate: RateLimit) => this.setRateLimit(taskName, rate),
    };
    this.#pidbox = new PidboxNode({
      broker,
      exchange: pidboxExchange(this.app.conf.controlExchange),
      hostname: this.hostname,
      logger: this.#logger,
      commands: controlCommands(target, this.#logger),
    });
    await this.#pidbox.start();
  }

  async #startHeartbeat(broker: Broker): Promise<void> {
    const freq = this.#options.heartbeatInterval;
    if (freq === null) return;
    const load = () => ({ active: this.#scheduler.running.size, processed: this.#scheduler.completed });
    this.#heartbeat = new WorkerHeartbeat(broker, this.hostname, freq, load, this.#logger);
    await this.#heartbeat.start();
  }

  async #stop(): Promise<void> {
    this.#state = "stopping";
    clearInterval(this.#keepAlive);
    this.#logger.info("worker stopping", { "tq.hostname": this.hostname, "tq.active": this.active });
    await this.#starting?.catch(() => {});
    await this.#consumer?.cancel().catch((error: unknown) => {
      this.#logger.error("could not cancel the consumer", { error });
    });
    await Promise.all(this.#scheduler.takePending().map((job) => job.settle("requeue")));
    if (!(await this.#runningFinishedBeforeDeadline())) {
      this.#logger.warn("shutdown deadline passed; aborting running tasks", { "tq.active": this.active });
      const reason = new TqError("TQ_ABORTED", "the worker is shutting down", { component: "worker" });
      this.#abandoned += this.#scheduler.running.size;
      for (const job of this.#scheduler.running) job.abort(reason);
      await this.#scheduler.whenIdle();
    }
    this.#autoscaler?.stop();
    // The tasks ended or were given back: their threads and processes may go.
    await this.#pool
      ?.close()
      .catch((error: unknown) => this.#logger.error("could not close the pool", { error }));
    await this.#pidbox
      ?.stop()
      .catch((error: unknown) =>
        this.#logger.error("could not stop listening for remote control", { error }),
      );
    await Promise.allSettled([...this.#background]);
    await this.#revocations.flush();
    await this.#heartbeat?.stop();
    // Celery's worker_shutdown: the tasks are done, the app's connections still open.
    this.app.signals.emit("workerShutdown", { hostname: this.hostname, queues: this.queues }, this.#logger);
    await this.app
      .close()
      .catch((error: unknown) => this.#logger.error("could not close the app", { error }));
    this.#state = "stopped";
    this.#logger.info("worker stopped", { "tq.hostname": this.hostname });
    this.#emit("stopped");
  }

  #runningFinishedBeforeDeadline(): Promise<boolean> {
    return new Promise((resolve) => {
      let cancel = (): void => {};
      const arm = (): void => {
        cancel();
        cancel = setLongTimeout(() => resolve(false), Math.max(0, this.#deadlineAt - Date.now()));
      };
      this.#onDeadlineChange = arm;
      arm();
      void this.#scheduler.whenIdle().then(() => {
        // Past this point a shorter deadline (a second signal) has nothing left to cut short.
        this.#onDeadlineChange = undefined;
        cancel();
        resolve(true);
      });
    });
  }

  #onDelivery(delivery: Delivery): Promise<void> | undefined {
    if (this.#state === "stopping" || this.#state === "stopped") {
      return this.#track(delivery.requeue());
    }
    const intake = inspectDelivery(delivery, this.app, this.#serializers);
    if (intake.kind !== "task") return this.#track(rejectMessage(this.#rejectionContext!, delivery, intake));
    const { message, task } = intake;
    const acksLate = task.options.acksLate ?? this.app.conf.taskAcksLate;
    const job = new Job(delivery, message, task, acksLate, this.#logger);
    // As Celery: a revoked task is dropped at arrival, before its ETA and without task-received.
    if (this.#revocations.has(message.id)) return this.#track(this.#executor!.discardRevoked(job));
    if (!isExpired(job)) {
      const decision = this.#etaGate!.decide(message.eta, this.#scheduler.held);
      if (decision.kind === "defer") return this.#track(this.#deferrer!.defer(job, decision.deliverAt));
    }
    if (isLevelEnabled(this.#logger, "debug")) {
      this.#logger.debug("task received", { ...job.attributes(), "tq.eta": message.eta?.toISOString() });
    }
    if (this.#listens("task-received")) this.#emit("task-received", job.info());
    if (isExpired(job)) return this.#track(this.#executor!.revokeExpired(job));
    this.#scheduler.add(job);
    return undefined;
  }

  // Work started by the broker's handler outside the scheduler (rejections, revokes) that stop() must await.
  #track<T>(work: Promise<T>): Promise<void> {
    const tracked = work.then(
      () => {},
      (error: unknown) => this.#logger.error("unexpected error while handling a message", { error }),
    );
    this.#background.add(tracked);
    void tracked.finally(() => this.#background.delete(tracked));
    return tracked;
  }

  #listens(event: keyof WorkerEvents): boolean {
    return (this as unknown as EventEmitter).listenerCount(event) > 0;
  }

  // A listener that throws must not break the worker's bookkeeping.
  #emit<K extends keyof WorkerEvents>(event: K, ...args: WorkerEvents[K]): void {
    try {
      (this as unknown as EventEmitter).emit(event, ...args);
    } catch (error) {
      this.#logger.error(`a "${String(event)}" listener threw`, { error });
    }
  }
}

// Held ETA tasks are unacked and use prefetch slots: `concurrency` of them stay free for due tasks.
function holdBound(options: ResolvedWorkerOptions): number {
  return Math.min(options.etaHoldLimit, Math.max(0, options.prefetch - options.concurrency));
}

/** Creates a worker for an app; nothing connects until `start()`. */
export function createWorker(app: App, options: WorkerOptions = {}): Worker {
  return new Worker(app, options);
}
