import { readFileSync } from "node:fs";
import { loadavg, type as osType } from "node:os";
import { type Broker, jsonSerializer, type Logger, type TransportMessage } from "@tq/core";

/** Celery's event exchange (`event_exchange`). */
export const EVENT_EXCHANGE = "celeryev";

/** The worker-level events Celery's monitors (`celery events`, Flower) read to see a worker. */
export type WorkerEventType = "worker-online" | "worker-heartbeat" | "worker-offline";

/** What a heartbeat reports about the worker. */
export interface WorkerLoad {
  /** Tasks running now. */
  active: number;
  /** Tasks finished since the worker started. */
  processed: number;
}

/**
 * Sends a worker's `worker-online`, `worker-heartbeat` (every `freq` seconds) and `worker-offline`
 * events as a Celery worker does: JSON on the `celeryev` exchange with the event type as routing key
 * (`worker.heartbeat`), the fields of Celery's own, so Flower and `celery events` list tq workers and
 * notice when one is gone (no heartbeat for two intervals). A send that fails is logged and skipped:
 * heartbeats must never stop a worker.
 */
export class WorkerHeartbeat {
  readonly #broker: Broker;
  readonly #hostname: string;
  readonly #freq: number;
  readonly #load: () => WorkerLoad;
  readonly #logger: Logger;
  #clock = 0;
  #timer: NodeJS.Timeout | undefined;
  #failing = false;

  /**
   * @param freq seconds between heartbeats (Celery's `--heartbeat-interval`, 2 by default)
   * @param load reads the counts a heartbeat carries
   */
  constructor(broker: Broker, hostname: string, freq: number, load: () => WorkerLoad, logger: Logger) {
    this.#broker = broker;
    this.#hostname = hostname;
    this.#freq = freq;
    this.#load = load;
    this.#logger = logger;
  }

  /** False on brokers without broadcast (SQS): Celery sends no events there either. */
  get supported(): boolean {
    return this.#broker.capabilities.broadcast && this.#broker.broadcast !== undefined;
  }

  /** Sends `worker-online`, then a heartbeat every `freq` seconds until {@link stop}. */
  async start(): Promise<void> {
    if (!this.supported) {
      this.#logger.debug("the broker has no broadcast: no worker heartbeats are sent");
      return;
    }
    await this.#send("worker-online");
    this.#timer = setInterval(() => void this.#send("worker-heartbeat"), this.#freq * 1000);
    // Heartbeats alone must not keep a process alive.
    this.#timer.unref();
  }

  /** Stops the heartbeats and sends `worker-offline`. */
  async stop(): Promise<void> {
    const running = this.#timer !== undefined;
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (running) await this.#send("worker-offline");
  }

  async #send(type: WorkerEventType): Promise<void> {
    try {
      await this.#broker.broadcast!(EVENT_EXCHANGE, this.#message(type), {
        routingKey: type.replace("-", "."),
        exchangeType: "topic",
      });
      if (this.#failing) this.#logger.info("worker events are sent again", { "tq.event": type });
      this.#failing = false;
    } catch (error) {
      // One line per outage, not one every two seconds.
      if (!this.#failing) this.#logger.warn("could not send a worker event; will keep trying", { error });
      this.#failing = true;
    }
  }

  #message(type: WorkerEventType): TransportMessage {
    const { active, processed } = this.#load();
    this.#clock += 1;
    const event = {
      hostname: this.#hostname,
      utcoffset: utcOffsetHours(),
      pid: process.pid,
      clock: this.#clock,
      freq: this.#freq,
      active,
      processed,
      loadavg: loadavg().map((value) => Math.round(value * 100) / 100),
      sw_ident: SOFTWARE_IDENT,
      sw_ver: workerVersion(),
      sw_sys: osType(),
      timestamp: Date.now() / 1000,
      type,
    };
    return {
      headers: { hostname: this.#hostname },
      properties: { delivery_mode: 1 },
      contentType: jsonSerializer.contentType,
      contentEncoding: jsonSerializer.contentEncoding,
      body: jsonSerializer.encode(event),
    };
  }
}

/** What a monitor shows as the worker's software (Celery's say `py-celery`). */
const SOFTWARE_IDENT = "tq-node";

// Celery's `utcoffset()`: whole hours, positive west of UTC (Python's `time.timezone // 3600`).
function utcOffsetHours(): number {
  return Math.floor(new Date().getTimezoneOffset() / 60);
}

let version: string | undefined;

/** The version of `@tq/worker`, from its package.json (one directory above `src/` and `dist/`). */
function workerVersion(): string {
  if (version === undefined) {
    try {
      const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
        version?: unknown;
      };
      version = typeof manifest.version === "string" ? manifest.version : "unknown";
    } catch {
      version = "unknown";
    }
  }
  return version;
}
