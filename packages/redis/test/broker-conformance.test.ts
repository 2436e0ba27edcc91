/** The published broker conformance suite against a real Redis (DB 1), checked with a raw probe. */
import { runBrokerConformance } from "@tq/transport-tests";
import { afterAll, beforeAll } from "vitest";
import { RedisBroker } from "../src/broker.js";
import { brokerTestUrl, RawRedis } from "./support/broker-probe.js";

const url = brokerTestUrl(1);
const probe = new RawRedis(url);

beforeAll(async () => {
  await probe.client.flushdb();
});

afterAll(async () => {
  await probe.client.flushdb();
  await probe.close();
});

runBrokerConformance({
  name: "redis",
  createBroker: () => new RedisBroker({ url }),
  probe,
  priorityOrder: "lower-first",
});
