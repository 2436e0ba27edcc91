// `pnpm bench memory`: the in-memory transport, tq's full app → worker → result path measured
// against the raw MemoryBroker ceiling of the same run, reported as a ratio. Run by ../run.mjs.
import { performance } from "node:perf_hooks";
import {
  buildTaskMessage,
  createApp,
  jsonSerializer,
  MemoryBackend,
  MemoryBroker,
  MemoryServer,
} from "@tq/core";
import { createWorker } from "@tq/worker";
import { median } from "./stats.mjs";

const N = Number(process.env.TQ_BENCH_N ?? 20_000);
const rounds = Number(process.env.TQ_BENCH_ROUNDS ?? 3);

async function rawBrokerCeiling() {
  const server = new MemoryServer();
  const broker = new MemoryBroker({ server });
  await broker.connect();
  const message = buildTaskMessage(
    { id: "bench", task: "bench.noop", args: [1, 2], kwargs: {} },
    jsonSerializer,
  );
  let received = 0;
  const done = new Promise((resolve) => {
    void broker.consume(
      ["bench"],
      async (delivery) => {
        await delivery.ack();
        if (++received === N) resolve();
      },
      { prefetch: 100 },
    );
  });
  const start = performance.now();
  for (let i = 0; i < N; i++) await broker.publish(message, { exchange: "", routingKey: "bench" });
  await done;
  const ms = performance.now() - start;
  await broker.close();
  return N / (ms / 1000);
}

async function fullPath() {
  const server = new MemoryServer();
  const app = createApp({
    broker: new MemoryBroker({ server }),
    resultBackend: new MemoryBackend(),
    env: false,
  });
  const add = app.task("bench.add", (x, y) => x + y);
  const worker = createWorker(app, { concurrency: 50, queues: ["celery"] });
  await worker.start();
  const sendLatencies = [];
  const start = performance.now();
  const results = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const result = add.delay(i, 1);
    await result.sent;
    sendLatencies.push(performance.now() - t0);
    results.push(result);
  }
  for (const result of results) await result.get({ timeout: 60 });
  const ms = performance.now() - start;
  await worker.stop();
  sendLatencies.sort((a, b) => a - b);
  const pct = (p) => sendLatencies[Math.min(sendLatencies.length - 1, Math.floor(p * sendLatencies.length))];
  return { perSecond: N / (ms / 1000), p50: pct(0.5), p99: pct(0.99) };
}

/** Runs the memory bench and prints its figures; resolves true. */
export async function runMemoryBench() {
  const raw = [];
  const full = [];
  for (let i = 0; i < rounds; i++) {
    raw.push(await rawBrokerCeiling());
    full.push(await fullPath());
  }
  const rawRate = median(raw);
  const fullRate = median(full.map((r) => r.perSecond));
  const p50 = median(full.map((r) => r.p50));
  const p99 = median(full.map((r) => r.p99));
  console.log(
    `tq bench — memory transport, ${N} tasks × ${rounds} rounds (medians), Node ${process.version}`,
  );
  console.log(`  raw MemoryBroker publish+consume+ack ceiling: ${rawRate.toFixed(0)} msg/s`);
  console.log(`  tq delay → worker → result → get (concurrency 50): ${fullRate.toFixed(0)} tasks/s`);
  console.log(`  ratio tq full path / raw broker ceiling: ${(fullRate / rawRate).toFixed(3)}`);
  console.log(`  delay() until sent: p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms`);
  console.log(`  rss after run: ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
  return true;
}
