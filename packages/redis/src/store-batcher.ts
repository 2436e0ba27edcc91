import type { ExpiryArgs } from "./backend-scripts.js";

interface PendingStore {
  key: string;
  document: Buffer | string;
  expiry: ExpiryArgs;
  resolve(stored: boolean): void;
  reject(error: unknown): void;
}

/**
 * Runs one store script call for a batch (keys, and per key its document and expiry); resolves to
 * whether each document was written.
 */
export type StoreBatchRunner = (keys: string[], args: (Buffer | string)[]) => Promise<boolean[]>;

/**
 * Coalesces result writes made in one event-loop turn into one script call. A worker running many
 * short tasks finishes dozens per turn; a round trip (and a socket write, an ioredis command, a
 * promise) per result was what bounded its rate. The batch is sent on `setImmediate`, i.e. right
 * after the turn's I/O callbacks, so a lone write waits no longer than that turn.
 *
 * Used where every key of a batch can go to one script: standalone and Sentinel. On Redis Cluster
 * the keys of one batch may live in different slots, so each write goes alone there.
 */
export class StoreBatcher {
  readonly #run: StoreBatchRunner;
  readonly #maxBatch: number;
  #pending: PendingStore[] = [];
  #scheduled = false;

  constructor(run: StoreBatchRunner, maxBatch = 256) {
    this.#run = run;
    this.#maxBatch = maxBatch;
  }

  /** Queues a write; resolves to false when the key held a SUCCESS that was kept. */
  store(key: string, document: Buffer | string, expiry: ExpiryArgs): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ key, document, expiry, resolve, reject });
      if (this.#pending.length >= this.#maxBatch) {
        this.#flush();
      } else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    const keys: string[] = [];
    const args: (Buffer | string)[] = [];
    for (const write of batch) {
      keys.push(write.key);
      args.push(write.document, write.expiry[0], write.expiry[1]);
    }
    this.#run(keys, args).then(
      (stored) => {
        for (const [i, write] of batch.entries()) write.resolve(stored[i] === true);
      },
      (error: unknown) => {
        for (const write of batch) write.reject(error);
      },
    );
  }
}
