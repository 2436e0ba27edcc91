import { buildTaskMessage, createApp, currentTask, jsonSerializer } from "@tq/core";
import { createWorker } from "@tq/worker";
import { afterAll, describe, expect, it } from "vitest";
import { AmqpBroker } from "../src/broker.js";
import {
  AMQP_URL,
  connectForTest,
  deleteExchanges,
  deleteQueues,
  uniquePrefix,
} from "./support/delay-amqp.js";

// 10,000 countdown tasks (1–5 s) through RabbitMQ and a tq worker. Half are sent through the app,
// which publishes them into Celery's native delayed delivery (they reach the queue when due); half
// are published straight into the queue with their ETA, as a Celery < 5.5 client sends them, so the
// worker holds up to its bound and hands the rest back through the same delayed topology.

const TOTAL = 10_000;
const prefix = uniquePrefix();
const queue = `${prefix}tasks`;
let lastDeliverAt = 0;

afterAll(async () => {
  const admin = await connectForTest(`${prefix}cleanup`);
  await deleteQueues(admin, [queue, `${queue}.dead`], lastDeliverAt);
  await deleteExchanges(admin, [queue, `${queue}.dead`]);
  await admin.close();
});

describe("10,000 delayed tasks on RabbitMQ", () => {
  it("all run exactly once and not early, the worker holds at most its bound, in under 40 s", async () => {
    // The client and the worker are separate processes in real life: separate connections here.
    const client = new AmqpBroker({ url: AMQP_URL, connectionName: `${prefix}client` });
    const clientApp = createApp({ broker: client, env: false, taskDefaultQueue: queue });
    const broker = new AmqpBroker({ url: AMQP_URL, connectionName: `${prefix}worker` });
    const app = createApp({ broker, env: false, taskDefaultQueue: queue });
    const runs = new Map<string, number>();
    let early = 0;
    app.task("tasks.tick", () => {
      const request = currentTask()!;
      runs.set(request.id, (runs.get(request.id) ?? 0) + 1);
      if (Date.now() < (request.eta?.getTime() ?? 0)) early += 1;
    });
    // prefetch 20 × 20 = 400; the bound is min(etaHoldLimit 200, 400 − 20).
    const worker = createWorker(app, { concurrency: 20, prefetchMultiplier: 20, etaHoldLimit: 200 });
    let heldPeakSeen = 0;
    const sampler = setInterval(() => {
      heldPeakSeen = Math.max(heldPeakSeen, worker.stats().held);
    }, 5);
    try {
      await worker.start();
      const started = Date.now();
      const countdownMs = (n: number): number => 1_000 + ((n * 7_919) % 4_000);
      const ids: string[] = [];
      for (let batch = 0; batch < TOTAL; batch += 500) {
        await Promise.all(
          Array.from({ length: 500 }, (_, k) => {
            const n = batch + k;
            lastDeliverAt = Math.max(lastDeliverAt, Date.now() + countdownMs(n));
            if (n % 2 === 0) {
              const result = clientApp.sendTask("tasks.tick", [], {}, { countdown: countdownMs(n) / 1000 });
              ids.push(result.id);
              return result.sent;
            }
            const eta = new Date(Date.now() + countdownMs(n));
            const message = buildTaskMessage(
              { id: crypto.randomUUID(), task: "tasks.tick", args: [], kwargs: {}, eta },
              jsonSerializer,
            );
            ids.push(String(message.headers.id));
            return client.publish(message, { exchange: "", routingKey: queue });
          }),
        );
      }
      const publishedMs = Date.now() - started;
      const deadline = started + 40_000;
      while (runs.size < TOTAL && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const elapsedMs = Date.now() - started;
      // Anything left over would run twice: wait a little longer for a duplicate to show up.
      await new Promise((r) => setTimeout(r, 1_500));
      const stats = worker.stats();
      const rssMb = Math.round(process.resourceUsage().maxRSS / 1024);
      console.info(
        `[delayed-10k] published in ${publishedMs} ms, all ran after ${elapsedMs} ms; ${JSON.stringify(stats)}; sampled held peak ${heldPeakSeen}; peak RSS ${rssMb} MB`,
      );

      expect(runs.size).toBe(TOTAL);
      expect(ids.every((id) => runs.get(id) === 1)).toBe(true);
      expect(early).toBe(0);
      expect(stats.etaHoldCapacity).toBe(200);
      expect(stats.heldPeak).toBeLessThanOrEqual(200);
      expect(stats.deferred).toBeGreaterThan(0);
      expect(elapsedMs).toBeLessThan(40_000);
    } finally {
      clearInterval(sampler);
      await worker.stop({ timeoutMs: 5_000 });
      await broker.close();
      await client.close();
    }
  }, 90_000);
});
