import {
  type Broker,
  type Consumer,
  type ControlRequest,
  decodeControlRequest,
  isAddressedTo,
  isLevelEnabled,
  LamportClock,
  type Logger,
  type TransportMessage,
} from "@tq/core";

/** Runs one control command; what it throws is logged. */
export type ControlHandler = (args: Record<string, unknown>, request: ControlRequest) => void | Promise<void>;

/** Options of {@link PidboxNode}. */
export interface PidboxNodeOptions {
  broker: Broker;
  /** The fanout exchange, e.g. `celery.pidbox`. */
  exchange: string;
  /** This worker's node name: requests for other nodes are skipped. */
  hostname: string;
  logger: Logger;
  /** Handlers by method name (`revoke`, `rate_limit`). */
  commands: ReadonlyMap<string, ControlHandler>;
}

/**
 * A worker's remote-control mailbox (kombu's pidbox `Node`): subscribes to the control exchange,
 * keeps only the requests addressed to this node (destination, or pattern and matcher) and runs their
 * command. Commands without a handler are logged at debug and ignored. Replies (`ping`, `inspect`) are
 * not sent: a request that asks for one is carried out all the same.
 */
export class PidboxNode {
  /** This node's Lamport clock, moved on by every request's `clock` header. */
  readonly clock = new LamportClock();
  readonly #options: PidboxNodeOptions;
  #consumer: Consumer | undefined;

  constructor(options: PidboxNodeOptions) {
    this.#options = options;
  }

  /**
   * Starts listening; resolves to false, after a log line, on a broker without broadcast (SQS), where a
   * worker cannot be controlled remotely, as Celery's on SQS.
   */
  async start(): Promise<boolean> {
    const { broker, exchange, logger } = this.#options;
    if (!broker.capabilities.broadcast || !broker.subscribeBroadcast) {
      logger.info(
        "remote control is off: the broker has no broadcast (app.control.revoke cannot reach this worker)",
      );
      return false;
    }
    this.#consumer = await broker.subscribeBroadcast(exchange, (message) => this.#receive(message));
    logger.debug("listening for remote control commands", { "tq.exchange": exchange });
    return true;
  }

  /** Stops listening. */
  async stop(): Promise<void> {
    const consumer = this.#consumer;
    this.#consumer = undefined;
    await consumer?.cancel();
  }

  async #receive(message: TransportMessage): Promise<void> {
    const { hostname, logger, commands, exchange } = this.#options;
    let request: ControlRequest;
    try {
      const envelope = decodeControlRequest(message);
      this.clock.adjust(envelope.clock);
      request = envelope.request;
      if (!isAddressedTo(request, hostname)) return;
    } catch (error) {
      logger.warn("skipping a remote control message that cannot be read", {
        "tq.exchange": exchange,
        error,
      });
      return;
    }
    const handler = commands.get(request.method);
    if (!handler) {
      logger.debug("remote control command ignored: not supported by this worker", {
        "tq.control.method": request.method,
      });
      return;
    }
    if (isLevelEnabled(logger, "debug")) {
      logger.debug("remote control command received", {
        "tq.control.method": request.method,
        "tq.control.reply_wanted": request.replyTo !== undefined,
      });
    }
    try {
      await handler(request.arguments, request);
    } catch (error) {
      logger.error("remote control command failed", { "tq.control.method": request.method, error });
    }
  }
}
