import { runBackendConformance } from "@tq/transport-tests";
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisBackend } from "../src/backend.js";
import { stateDoc as meta, runPrefix } from "./support/backend-redis.js";
import { type RedisClusterHandle, startRedisCluster } from "./support/redis-servers.js";

// A cluster of our own on free loopback ports (no DB on 6379): the chord script touches three keys,
// which must share a slot, and pub/sub notifications cross nodes.
let cluster: RedisClusterHandle;
let raw: Cluster;
const run = runPrefix("cluster");
const backends: RedisBackend[] = [];
function backend(): RedisBackend {
  const created = new RedisBackend({ url: cluster.url });
  backends.push(created);
  return created;
}

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
  raw = new Cluster(cluster.nodes, { lazyConnect: true });
  await raw.connect();
});

afterAll(async () => {
  await Promise.allSettled(backends.map((b) => b.close()));
  raw?.disconnect();
  await cluster?.stop();
});

runBackendConformance({
  name: "redis cluster",
  createBackend: () => new RedisBackend({ url: cluster.url }),
  idPrefix: run,
  expiryMs: 1_000,
  expiryGraceMs: 2_000,
});

describe("cluster key layout", () => {
  it("keeps task and group keys Celery's, and hash-tags a chord's keys onto one slot", async () => {
    const b = backend();
    const taskId = `${run}-task`;
    const groupId = `${run}-chord`;
    await b.store(meta(taskId, "SUCCESS", 1));
    expect(await raw.exists(`celery-task-meta-${taskId}`)).toBe(1);
    await b.saveGroup(groupId, [taskId]);
    expect(await raw.exists(`celery-taskset-meta-${groupId}`)).toBe(1);
    await b.setChordSize(groupId, 1);
    const done = await b.addChordPart(groupId, { index: 0, taskId, status: "SUCCESS", result: 1 });
    expect(done).toMatchObject({ complete: true, received: 1 });
    const tagged = (suffix: string) => `celery-taskset-meta-{${groupId}}${suffix}`;
    expect(await raw.get(tagged(".s"))).toBe("1");
    expect(await raw.zcard(tagged(".j"))).toBe(1);
    await b.clearChord(groupId);
    expect(await raw.exists(tagged(".s"))).toBe(0);
    expect(await raw.exists(tagged(".j"))).toBe(0);
  });

  it("wakes waits on keys of every node", async () => {
    const [client, worker] = [backend(), backend()];
    const ids = Array.from({ length: 30 }, (_, i) => `${run}-wait-${i}`);
    const waits = ids.map((taskId) => client.waitFor(taskId, { timeoutMs: 10_000 }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await Promise.all(ids.map((taskId, i) => worker.store(meta(taskId, "SUCCESS", i))));
    expect((await Promise.all(waits)).map((m) => m.result)).toEqual(ids.map((_, i) => i));
    await Promise.all(ids.map((taskId) => worker.forget(taskId)));
  });
});
