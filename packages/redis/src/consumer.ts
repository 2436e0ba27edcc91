import type { Consumer, DeliveryHandler, Logger } from "@tq/core";
import type { Subscriber } from "./broadcast.js";
import type { KeyLayout } from "./keys.js";
import type { BrokerScripts } from "./lua/commands.js";
import { type DeliveryHost, RedisDelivery } from "./redis-delivery.js";
import type { VisibilityKeeper } from "./visibility.js";

/** What a consumer shares with its broker. */
export interface ConsumerContext {
  readonly scripts: BrokerScripts;
  readonly keys: KeyLayout;
  readonly visibility: VisibilityKeeper;
  readonly subscriber: Subscriber;
  /** Every unsettled delivery of the broker, for visibility refreshes and close(). */
  readonly held: Set<RedisDelivery>;
  readonly logger: Logger;
  readonly pollIntervalMs: number;
}

/** One call of the fetch script: a bookkeeping pair and the lists it pops from, in serving order. */
interface FetchPlan {
  readonly unacked: string;
  readonly index: string;
  readonly lists: readonly string[];
  /** For each list, its queue JSON-encoded (for the `unacked` value) and as it is. */
  readonly queueJson: readonly string[];
  readonly queueOf: readonly string[];
}

/**
 * A consumer of some queues. Lua cannot block, so instead of parking in BRPOP it fetches when woken:
 * by a tq publisher's PUBLISH on a queue's wake channel, by one of its own deliveries being settled
 * while the queues may hold more, and by a poll every `pollIntervalMs` (for messages of other
 * producers and restored ones). Wake-ups coalesce: while a fetch is under way, another is only noted.
 * Each fetch takes up to prefetch − held messages with one script call (one per queue on a cluster).
 */
export class RedisConsumer implements Consumer, DeliveryHost {
  readonly #context: ConsumerContext;
  readonly #queues: readonly string[];
  readonly #handler: DeliveryHandler;
  readonly #prefetch: number;
  // Queue orders rotate from one fetch to the next so that no queue starves another (kombu's
  // round-robin); each entry is the plan list of one rotation.
  readonly #rotations: FetchPlan[][];
  readonly #held = new Set<RedisDelivery>();
  #turn = 0;
  #active = true;
  #fetching: Promise<void> | undefined;
  #again = false;
  #mayHaveMore = true;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribes: (() => Promise<void>)[] = [];
  #cancelled: Promise<void> | undefined;

  constructor(
    context: ConsumerContext,
    queues: readonly string[],
    handler: DeliveryHandler,
    prefetch: number,
  ) {
    this.#context = context;
    this.#queues = queues;
    this.#handler = handler;
    this.#prefetch = prefetch;
    this.#rotations = queues.map((_, turn) =>
      planFetches(context.keys, [...queues.slice(turn), ...queues.slice(0, turn)]),
    );
  }

  get scripts(): BrokerScripts {
    return this.#context.scripts;
  }

  get keys(): KeyLayout {
    return this.#context.keys;
  }

  get visibility(): VisibilityKeeper {
    return this.#context.visibility;
  }

  /** The queues it consumes. */
  get queues(): readonly string[] {
    return this.#queues;
  }

  /** Subscribes to the wake channels, starts polling and fetches a first time. */
  async start(): Promise<void> {
    const { subscriber, keys } = this.#context;
    this.#unsubscribes = await Promise.all(
      this.#queues.map((queue) => subscriber.subscribe(keys.wakeChannel(queue), () => this.wake())),
    );
    this.#timer = setInterval(() => this.wake(), this.#context.pollIntervalMs);
    this.#timer.unref();
    this.wake();
  }

  /** Stops fetching and waits for a fetch under way. Held deliveries stay valid. */
  cancel(): Promise<void> {
    if (this.#cancelled) return this.#cancelled;
    this.#active = false;
    clearInterval(this.#timer);
    this.#cancelled = (async () => {
      await Promise.allSettled(this.#unsubscribes.map((unsubscribe) => unsubscribe()));
      await this.#fetching;
    })();
    return this.#cancelled;
  }

  /** Asks for a fetch; coalesces with one under way. */
  wake(): void {
    if (!this.#active) return;
    if (this.#fetching) {
      this.#again = true;
      return;
    }
    this.#fetching = this.#fetchWhileAsked().finally(() => {
      this.#fetching = undefined;
    });
  }

  /** DeliveryHost: a delivery stopped being held, so there is room for another. */
  released(delivery: RedisDelivery): void {
    this.#held.delete(delivery);
    this.#context.held.delete(delivery);
    if (this.#mayHaveMore) this.wake();
  }

  async #fetchWhileAsked(): Promise<void> {
    do {
      this.#again = false;
      await this.#fetchOnce();
    } while (this.#again && this.#active);
  }

  async #fetchOnce(): Promise<void> {
    const want = this.#prefetch - this.#held.size;
    if (want <= 0) {
      // Full: fetch again as soon as a delivery is settled.
      this.#mayHaveMore = true;
      return;
    }
    const plans = this.#rotations[this.#turn++ % this.#rotations.length] as FetchPlan[];
    let got = 0;
    try {
      for (const plan of plans) {
        if (got >= want) break;
        const reply = await this.#context.scripts.fetch(
          plan.unacked,
          plan.index,
          plan.lists,
          want - got,
          Date.now() / 1000,
          plan.queueJson,
        );
        for (let i = 0; i + 2 < reply.length; i += 3) {
          const queue = plan.queueOf[Number(reply[i]) - 1] as string;
          this.#take(new RedisDelivery(this, queue, String(reply[i + 1]), String(reply[i + 2])));
          got++;
        }
      }
    } catch (error) {
      // Nothing is lost: what a fetch took is recorded in `unacked` whether or not its reply arrived
      // (a connection dropped mid-fetch), and the restorer brings it back after the visibility timeout.
      this.#context.logger.warn("could not fetch messages; trying again at the next poll", {
        "tq.queues": this.#queues.join(","),
        error,
      });
      return;
    }
    this.#mayHaveMore = got >= want;
  }

  #take(delivery: RedisDelivery): void {
    const { logger } = this.#context;
    if (!this.#active) {
      // Cancelled while the fetch was under way: no handler will see it, so it goes back unmarked.
      delivery.returnUnseen().catch((error: unknown) =>
        logger.warn(
          "could not put back a message fetched during cancel; it returns after the visibility timeout",
          {
            "tq.queue": delivery.queue,
            error,
          },
        ),
      );
      return;
    }
    this.#held.add(delivery);
    this.#context.held.add(delivery);
    try {
      const result = this.#handler(delivery);
      if (result instanceof Promise)
        result.catch((error: unknown) => logHandlerError(logger, delivery, error));
    } catch (error) {
      logHandlerError(logger, delivery, error);
    }
  }
}

function logHandlerError(logger: Logger, delivery: RedisDelivery, error: unknown): void {
  logger.error("a delivery handler threw; the consumer goes on", { "tq.queue": delivery.queue, error });
}

// Standalone: one script call over every list, priority-major (all bucket-0 lists, then bucket 3…),
// as kombu's BRPOP key order. Cluster: one call per queue, since a script may not touch several
// slots, so priority ordering holds within a queue but not across queues.
function planFetches(keys: KeyLayout, queues: readonly string[]): FetchPlan[] {
  const plan = (group: readonly string[], unackedOf: string): FetchPlan => {
    const lists: string[] = [];
    const queueJson: string[] = [];
    const queueOf: string[] = [];
    for (const step of keys.steps) {
      for (const queue of group) {
        lists.push(keys.bucket(queue, step));
        queueJson.push(JSON.stringify(queue));
        queueOf.push(queue);
      }
    }
    return {
      unacked: keys.unacked(unackedOf),
      index: keys.unackedIndex(unackedOf),
      lists,
      queueJson,
      queueOf,
    };
  };
  return keys.cluster ? queues.map((queue) => plan([queue], queue)) : [plan(queues, "")];
}
