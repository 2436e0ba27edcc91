import { afterEach, describe, expect, it } from "vitest";
import { type App, createApp } from "../src/app.js";
import { TaskFailedError, TaskRevokedError } from "../src/exception-info.js";
import { MemoryBackend } from "../src/memory/index.js";
import type { TaskMeta } from "../src/result-backend.js";

const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

function meta(status: string, result: unknown, traceback: string | null = null): TaskMeta {
  return { task_id: "t1", status, result, traceback, children: [], date_done: null };
}

describe("AsyncResult.info()", () => {
  it("returns null while PENDING, the meta of a custom state, the value, or the error of a failure", async () => {
    const backend = new MemoryBackend();
    const app = createApp({ resultBackend: backend, env: false });
    apps.push(app);
    const result = app.asyncResult("t1");
    expect(await result.info()).toBeNull();
    await backend.store(meta("PROGRESS", { current: 3, total: 10 }));
    expect(await result.state()).toBe("PROGRESS");
    expect(await result.info()).toEqual({ current: 3, total: 10 });
    await backend.store(
      meta("FAILURE", { exc_type: "ValueError", exc_message: ["bad"], exc_module: "builtins" }),
    );
    const failure = await result.info();
    expect(failure).toBeInstanceOf(TaskFailedError);
    expect(failure).toMatchObject({ excType: "ValueError", excMessage: ["bad"] });
    await backend.store(
      meta("REVOKED", {
        exc_type: "TaskRevokedError",
        exc_message: ["expired"],
        exc_module: "celery.exceptions",
      }),
    );
    expect(await result.info()).toBeInstanceOf(TaskRevokedError);
    await backend.store(meta("SUCCESS", 42));
    expect(await result.info()).toBe(42);
  });
});
