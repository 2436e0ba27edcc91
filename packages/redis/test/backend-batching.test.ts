/**
 * Result writes of one event-loop turn share one script call; each keeps its own outcome (a SUCCESS
 * already stored is kept, also within a batch), and ioredis' auto-pipelining does not break them.
 * DB 7, run-unique ids.
 */
import type { TaskMeta } from "@tq/core";
import { afterAll, describe, expect, it } from "vitest";
import { RedisBackend } from "../src/backend.js";
import { deleteKeys, rawClient, redisUrl, runPrefix } from "./support/backend-redis.js";

const DB = 7;
const prefix = runPrefix("batch");
const raw = rawClient(DB);

afterAll(async () => {
  try {
    await deleteKeys(raw, `*${prefix}*`);
  } finally {
    raw.disconnect();
  }
});

function meta(id: string, status: TaskMeta["status"], result: unknown): TaskMeta {
  return { task_id: id, status, result, traceback: null, children: [], date_done: null };
}

describe("batched result writes", () => {
  for (const autoPipelining of [false, true]) {
    it(`stores 500 results written in one turn${autoPipelining ? " (auto-pipelining on)" : ""}`, async () => {
      const backend = new RedisBackend({
        url: redisUrl(DB),
        redisOptions: { enableAutoPipelining: autoPipelining },
      });
      try {
        await backend.connect();
        const ids = Array.from({ length: 500 }, (_, i) => `${prefix}-${autoPipelining}-${i}`);
        await Promise.all(ids.map((id, i) => backend.store(meta(id, "SUCCESS", i))));
        const stored = await Promise.all(ids.map((id) => backend.get(id)));
        expect(stored.map((doc) => doc?.result)).toEqual(ids.map((_, i) => i));
        expect(await raw.ttl(`celery-task-meta-${ids[0]}`)).toBeGreaterThan(86_000);
      } finally {
        await backend.close();
      }
    });
  }

  it("keeps a SUCCESS against a later state written in the same turn", async () => {
    const backend = new RedisBackend({ url: redisUrl(DB) });
    try {
      const id = `${prefix}-success-first`;
      await Promise.all([backend.store(meta(id, "SUCCESS", 1)), backend.store(meta(id, "STARTED", null))]);
      expect((await backend.get(id))?.status).toBe("SUCCESS");
    } finally {
      await backend.close();
    }
  });
});
