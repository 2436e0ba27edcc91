/** One entry waiting in a {@link TurnBatcher}. */
interface Pending<E, R> {
  readonly entry: E;
  readonly size: number;
  resolve(result: R): void;
  reject(error: unknown): void;
}

interface Group<E, R> {
  pending: Pending<E, R>[];
  bytes: number;
  /** Flushes of this key run one after another (FIFO queues keep their order across batches). */
  sequential: boolean;
}

/** Sends one batch; returns, per entry in order, its result or the Error it failed with. */
export type FlushBatch<E, R> = (key: string, entries: readonly E[]) => Promise<(R | Error)[]>;

/**
 * Coalesces the calls of one event-loop turn per key (an SQS queue URL) into batches of at most
 * `maxEntries` entries and `maxBytes` bytes, as SQS's `…Batch` actions take them. A batch goes out when
 * it is full or at the end of the turn (`setImmediate`), so a lone call waits for no timer.
 */
export class TurnBatcher<E, R> {
  readonly #flush: FlushBatch<E, R>;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #groups = new Map<string, Group<E, R>>();
  readonly #tails = new Map<string, Promise<void>>();
  readonly #inFlight = new Set<Promise<void>>();
  #scheduled = false;

  constructor(flush: FlushBatch<E, R>, limits: { maxEntries: number; maxBytes: number }) {
    this.#flush = flush;
    this.#maxEntries = limits.maxEntries;
    this.#maxBytes = limits.maxBytes;
  }

  /** Queues an entry for `key`; resolves or rejects with its own outcome in the batch. */
  add(key: string, entry: E, size: number, sequential = false): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let group = this.#groups.get(key);
      if (group && group.bytes + size > this.#maxBytes) {
        this.#send(key, group);
        group = undefined;
      }
      if (!group) {
        group = { pending: [], bytes: 0, sequential };
        this.#groups.set(key, group);
      }
      group.pending.push({ entry, size, resolve, reject });
      group.bytes += size;
      if (group.pending.length >= this.#maxEntries) this.#send(key, group);
      else this.#schedule();
    });
  }

  /** Waits for every batch sent so far. */
  async drain(): Promise<void> {
    while (this.#inFlight.size > 0 || this.#groups.size > 0) {
      this.#flushAll();
      await Promise.allSettled([...this.#inFlight]);
    }
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flushAll();
    });
  }

  #flushAll(): void {
    for (const [key, group] of [...this.#groups]) this.#send(key, group);
  }

  #send(key: string, group: Group<E, R>): void {
    if (this.#groups.get(key) === group) this.#groups.delete(key);
    const previous = group.sequential ? this.#tails.get(key) : undefined;
    const run = async (): Promise<void> => {
      if (previous) await previous;
      const { pending } = group;
      try {
        const results = await this.#flush(
          key,
          pending.map((each) => each.entry),
        );
        pending.forEach((each, i) => {
          const result = results[i];
          if (result instanceof Error) each.reject(result);
          else each.resolve(result as R);
        });
      } catch (error) {
        for (const each of pending) each.reject(error);
      }
    };
    const done = run();
    this.#inFlight.add(done);
    if (group.sequential) this.#tails.set(key, done);
    void done.finally(() => {
      this.#inFlight.delete(done);
      if (this.#tails.get(key) === done) this.#tails.delete(key);
    });
  }
}
