import { AsyncResult, type GetResultOptions, type ResultSource } from "../async-result.js";
import { TqError } from "../errors.js";
import type { ResultHandle } from "./types.js";

/**
 * The results of a group, in the order of its members: Celery's `GroupResult`. `R` is the tuple of the
 * members' results, so `await group(add.s(1, 1), concat.s("a", "b")).applyAsync().get()` is a
 * `[number, string]`. A member that is itself a group (or a chain ending in one) is a `GroupResult`.
 */
export class GroupResult<R extends unknown[] = unknown[]> {
  /** The group id: the `group` header of its members' messages. */
  readonly id: string;
  /** The members' results, in order. */
  readonly results: readonly ResultHandle[];
  /** Resolves to this result once every member's message was published; rejects if one was not. */
  readonly sent: Promise<GroupResult<R>>;
  /** The result of the step before, when the group is a step of a chain (Celery's `parent`). */
  parent: ResultHandle | null = null;
  readonly #source: ResultSource;

  constructor(
    id: string,
    results: readonly ResultHandle[],
    source: ResultSource,
    published: Promise<void> = Promise.resolve(),
  ) {
    this.id = id;
    this.results = results;
    this.#source = source;
    this.sent = published.then(() => this);
    // Reported by `sent` and by every method below; this only keeps Node from calling it unhandled.
    this.sent.catch(() => {});
  }

  /** How many members the group has. */
  get length(): number {
    return this.results.length;
  }

  /**
   * Waits for every member, in order, and returns their values (Celery's `get`/`join`). With
   * `propagate` (the default) the first failed member, in order, rejects as its `AsyncResult.get()`
   * would; a timeout covers the whole wait.
   */
  async get(options: GetResultOptions = {}): Promise<R> {
    await this.sent;
    const timeoutMs =
      options.timeoutMs ?? (options.timeout === undefined ? undefined : options.timeout * 1000);
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    const values: unknown[] = [];
    for (const result of this.results) {
      const remaining = deadline === undefined ? undefined : Math.max(0, deadline - Date.now());
      values.push(
        await result.get({
          ...(remaining === undefined ? {} : { timeoutMs: remaining }),
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.propagate === undefined ? {} : { propagate: options.propagate }),
        }),
      );
    }
    return values as R;
  }

  /** Same as {@link get} (Celery's `join`). */
  join(options: GetResultOptions = {}): Promise<R> {
    return this.get(options);
  }

  /** How many members succeeded (Celery's `completed_count`). */
  async completedCount(): Promise<number> {
    const done = await Promise.all(this.results.map((result) => result.successful()));
    return done.filter(Boolean).length;
  }

  /** True once every member is ready (succeeded, failed or revoked). */
  async ready(): Promise<boolean> {
    return (await Promise.all(this.results.map((result) => result.ready()))).every(Boolean);
  }

  /** True when every member succeeded. */
  async successful(): Promise<boolean> {
    return (await Promise.all(this.results.map((result) => result.successful()))).every(Boolean);
  }

  /** True when a member failed. */
  async failed(): Promise<boolean> {
    return (await Promise.all(this.results.map((result) => result.failed()))).some(Boolean);
  }

  /** True while a member is not ready (Celery's `waiting`). */
  async waiting(): Promise<boolean> {
    return !(await this.ready());
  }

  /** Saves the group's member ids in the backend (`celery-taskset-meta-<id>`), for {@link restore}. */
  async save(): Promise<void> {
    await this.sent;
    await (await this.#source.getBackend()).saveGroup(
      this.id,
      this.results.map((result) => result.id),
    );
  }

  /** Deletes the saved group and the members' results. */
  async forget(): Promise<void> {
    await this.sent;
    await Promise.all(this.results.map((result) => result.forget()));
    await (await this.#source.getBackend()).forgetGroup(this.id);
  }

  /** Celery's `as_tuple()`: `[[id, parent], [member tuples…]]`. */
  asTuple(): unknown[] {
    return [[this.id, this.parent ? tupleOf(this.parent) : null], this.results.map(tupleOf)];
  }

  /** JSON form: the group id and its members' ids. */
  toJSON(): { id: string; results: unknown[] } {
    return { id: this.id, results: this.results.map((result) => result.toJSON()) };
  }

  /**
   * A saved group (Celery's `GroupResult.restore(id)`), by Celery or tq, or null when there is none.
   * Its members are task results (a nested group comes back by its id only).
   */
  static async restore<R extends unknown[] = unknown[]>(
    source: ResultSource,
    groupId: string,
  ): Promise<GroupResult<R> | null> {
    if (typeof groupId !== "string" || groupId === "") {
      throw new TqError("TQ_CONFIG", "GroupResult.restore needs a group id", { component: "canvas" });
    }
    const ids = await (await source.getBackend()).getGroup(groupId);
    if (ids === null) return null;
    return new GroupResult<R>(
      groupId,
      ids.map((id) => new AsyncResult(id, source)),
      source,
    );
  }
}

function tupleOf(result: ResultHandle): unknown[] {
  if (result instanceof GroupResult) return result.asTuple();
  return [[result.id, result.parent ? tupleOf(result.parent) : null], null];
}
