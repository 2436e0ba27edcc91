import type { ResultBackend, TaskMeta } from "@tq/core";
import { UNICODE_TEXT } from "./messages.js";
import { type BackendConformanceOptions, uniquePrefix } from "./options.js";

/** Options with their defaults applied. */
export type ResolvedBackendOptions = Required<BackendConformanceOptions>;

/** Resolves defaults. */
export function resolveBackendOptions(options: BackendConformanceOptions): ResolvedBackendOptions {
  return {
    idPrefix: uniquePrefix(),
    timeoutMs: 5_000,
    quietPeriodMs: 150,
    supportsExpiry: true,
    expiryMs: 1_000,
    expiryGraceMs: 5_000,
    ...options,
  };
}

/**
 * What one test of the backend suite works with: backend instances it gets connected and closed
 * for it, and ids nobody else uses (deleted again after the test).
 */
export class BackendHarness {
  readonly options: ResolvedBackendOptions;
  readonly #backends = new Set<ResultBackend>();
  readonly #ids = new Set<string>();
  #seq = 0;

  constructor(options: ResolvedBackendOptions) {
    this.options = options;
  }

  /** A new connected backend instance, closed after the test. */
  async backend(): Promise<ResultBackend> {
    const backend = await this.options.createBackend();
    this.#backends.add(backend);
    await backend.connect();
    return backend;
  }

  /** A task, group or chord id used by this test only. */
  id(label: string): string {
    const id = `${this.options.idPrefix}-${label}-${++this.#seq}`;
    this.#ids.add(id);
    return id;
  }

  /** Closes one backend now (the test expects close to succeed). */
  async close(backend: ResultBackend): Promise<void> {
    this.#backends.delete(backend);
    await backend.close();
  }

  /** Closes this test's backends and deletes what it stored. */
  async cleanup(): Promise<void> {
    const backends = [...this.#backends];
    this.#backends.clear();
    await Promise.allSettled(backends.map((backend) => backend.close()));
    const ids = [...this.#ids];
    this.#ids.clear();
    if (ids.length === 0) return;
    const janitor = await this.options.createBackend();
    try {
      await janitor.connect();
      await Promise.allSettled(
        ids.flatMap((id) => [janitor.forget(id), janitor.forgetGroup(id), janitor.clearChord(id)]),
      );
    } finally {
      await janitor.close();
    }
  }
}

/** A document with every field Celery writes (extended results included) and an unknown one. */
export function fullMeta(taskId: string, status = "SUCCESS"): TaskMeta {
  return {
    task_id: taskId,
    status,
    result: {
      answer: 42,
      ratio: 0.5,
      text: UNICODE_TEXT,
      list: [1, null, "x", [true]],
      nested: { a: { b: {} } },
    },
    traceback: null,
    children: [[["child-id", null], null]],
    date_done: "2030-01-02T03:04:05.678901+00:00",
    group_id: null,
    parent_id: "parent-id",
    name: "conformance.echo",
    args: [1, "två", { three: 3 }],
    kwargs: { key: "värde", 键: "值" },
    worker: "celery@conformance",
    retries: 2,
    queue: "celery",
    stamps: { x_stamp: ["kept"] },
  };
}

/** A minimal document in a given state. */
export function stateMeta(taskId: string, status: string, result: unknown = null): TaskMeta {
  const ready = status === "SUCCESS" || status === "FAILURE" || status === "REVOKED";
  return {
    task_id: taskId,
    status,
    result,
    traceback: status === "FAILURE" ? "Traceback (most recent call last):\n  ...\nValueError: boom" : null,
    children: [],
    date_done: ready ? new Date().toISOString() : null,
  };
}
