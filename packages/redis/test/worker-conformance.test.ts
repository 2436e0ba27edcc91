/** The worker conformance suite (retries, ETA, limits, pools, rate limits, revocation) on a real Redis (DB 14). */
import { runWorkerConformance } from "@tq/transport-tests";
import { afterAll, beforeAll } from "vitest";
import { RedisBackend } from "../src/backend.js";
import { RedisBroker } from "../src/broker.js";
import { brokerTestUrl, RawRedis } from "./support/broker-probe.js";

const url = brokerTestUrl(14);
const probe = new RawRedis(url);

beforeAll(async () => {
  await probe.client.flushdb();
});

afterAll(async () => {
  await probe.client.flushdb();
  await probe.close();
});

runWorkerConformance({
  name: "redis",
  createBroker: () => new RedisBroker({ url }),
  createBackend: () => new RedisBackend({ url }),
  brokerUrl: url,
  backendUrl: url,
});
