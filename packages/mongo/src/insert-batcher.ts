import { TqError } from "@tq/core";
import {
  BSON,
  type Collection,
  MongoBulkWriteError,
  MongoInvalidArgumentError,
  type WriteError,
} from "mongodb";
import { COMPONENT, wrapError } from "./errors.js";
import type { MessageDocument } from "./message-codec.js";

/** The most documents one `insertMany` carries; a fuller turn goes out as several. */
export const MAX_BATCH_DOCUMENTS = 1_000;

const ACTION = "publish a message";

interface Pending {
  readonly document: MessageDocument;
  readonly signal: AbortSignal | undefined;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Coalesces the publishes of one event-loop turn into one unordered `insertMany` (a lone publish is an
 * `insertOne`), as @tq/sqs does with SendMessageBatch. The batch goes out at the end of the turn
 * (`setImmediate`, after the turn's I/O callbacks and the promise jobs they ran) or once it holds
 * {@link MAX_BATCH_DOCUMENTS}, so a lone publish waits for no timer.
 *
 * Unordered, because the documents of a batch come from unrelated callers: an ordered insert stops at
 * the first failure, failing every later publish of the batch with it. Order within a batch does not
 * matter: consumers take messages by priority, `visibleAt` and `_id` (an ObjectId made at publish
 * time), not by insertion order, and every publish of a batch resolves only once the whole command
 * has returned. Each publish resolves or rejects for its own document.
 */
export class InsertBatcher {
  readonly #collection: Collection<MessageDocument>;
  #pending: Pending[] = [];
  #immediate: NodeJS.Immediate | undefined;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(collection: Collection<MessageDocument>) {
    this.#collection = collection;
  }

  /**
   * Inserts the document with the turn's batch. A `signal` aborted before the batch goes out leaves
   * the document out (`TQ_ABORTED`); once sent, the insert is no longer abortable.
   */
  insert(document: MessageDocument, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ document, signal, resolve, reject });
      if (this.#pending.length >= MAX_BATCH_DOCUMENTS) this.#flush();
      else this.#immediate ??= setImmediate(() => this.#flush());
    });
  }

  /** Sends what waits for the end of the turn now, and waits for every insert under way. */
  async drain(): Promise<void> {
    while (this.#pending.length > 0 || this.#inFlight.size > 0) {
      this.#flush();
      await Promise.allSettled([...this.#inFlight]);
    }
  }

  #flush(): void {
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#immediate = undefined;
    const batch: Pending[] = [];
    for (const entry of this.#pending) {
      if (entry.signal?.aborted) entry.reject(abortedError(entry.signal));
      else batch.push(entry);
    }
    this.#pending = [];
    if (batch.length === 0) return;
    const sent = this.#send(batch);
    this.#inFlight.add(sent);
    void sent.finally(() => this.#inFlight.delete(sent));
  }

  /** Inserts the batch and settles each entry; never rejects. */
  async #send(batch: readonly Pending[]): Promise<void> {
    const [only] = batch;
    if (batch.length === 1 && only) {
      try {
        await this.#collection.insertOne(only.document);
        only.resolve();
      } catch (error) {
        only.reject(wrapError(ACTION, error));
      }
      return;
    }
    let outcomes: (TqError | undefined)[] | undefined;
    try {
      await this.#collection.insertMany(
        batch.map((entry) => entry.document),
        { ordered: false },
      );
    } catch (error) {
      if (refusedBeforeSending(error)) {
        // The driver refused a document while building the command (too large, not serializable), so
        // nothing was sent: each document alone, so that only the bad ones fail.
        await Promise.all(batch.map((entry) => this.#send([entry])));
        return;
      }
      outcomes = outcomesOf(error, batch.length);
    }
    batch.forEach((entry, i) => {
      const failure = outcomes?.[i];
      if (failure) entry.reject(failure);
      else entry.resolve();
    });
  }
}

/** True for errors the driver throws while building a bulk write, before any command is sent. */
function refusedBeforeSending(error: unknown): boolean {
  return error instanceof MongoInvalidArgumentError || BSON.BSONError.isBSONError(error);
}

/**
 * What a failed unordered `insertMany` means for each document: a document with a write error of its
 * own fails with it; the others were inserted, unless the error says more than that (a write-concern
 * error, or a driver error that stopped the command), when their fate is unknown and they fail with
 * the command's error, as a lone `insertOne` would.
 */
function outcomesOf(error: unknown, count: number): (TqError | undefined)[] {
  const wrapped = wrapError(ACTION, error);
  if (!(error instanceof MongoBulkWriteError)) return Array.from({ length: count }, () => wrapped);
  const writeErrors: WriteError[] = Array.isArray(error.writeErrors)
    ? error.writeErrors
    : [error.writeErrors as WriteError];
  const own = new Map<number, WriteError>();
  for (const writeError of writeErrors) {
    if (writeError && typeof writeError.index === "number") own.set(writeError.index, writeError);
  }
  const { result } = error;
  const accounted =
    result !== undefined &&
    result.insertedCount + own.size === count &&
    result.getWriteConcernError() === undefined;
  return Array.from({ length: count }, (_, i) => {
    const writeError = own.get(i);
    if (writeError) {
      return new TqError("TQ_MONGO", `cannot ${ACTION}: ${writeError.errmsg ?? "write error"}`, {
        component: COMPONENT,
        cause: writeError,
      });
    }
    return accounted ? undefined : wrapped;
  });
}

function abortedError(signal: AbortSignal): TqError {
  return new TqError("TQ_ABORTED", "publishing was aborted", { component: COMPONENT, cause: signal.reason });
}
