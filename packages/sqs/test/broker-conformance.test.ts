/** The published broker conformance suite against fauxqs (or TQ_TEST_SQS_ENDPOINT), checked with a raw probe. */
import { runBrokerConformance } from "@tq/transport-tests";
import { afterAll } from "vitest";
import { SqsBroker } from "../src/broker.js";
import { RawSqs, testBrokerOptions } from "./support/sqs.js";

const probe = new RawSqs();

afterAll(() => probe.close());

runBrokerConformance({
  name: "sqs",
  createBroker: () => new SqsBroker(testBrokerOptions()),
  probe,
  cleanup: (queues) => probe.deleteQueues(queues),
});
