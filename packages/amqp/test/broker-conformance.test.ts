/**
 * The published broker conformance suite against the real RabbitMQ, checked with a raw probe: ready
 * messages through amqplib's `checkQueue`, unacknowledged ones through `rabbitmqctl list_queues`.
 * In the broker tests' own vhost (see support/amqp-server.ts).
 */
import { runBrokerConformance } from "@tq/transport-tests";
import { afterAll, beforeAll } from "vitest";
import { AmqpBroker } from "../src/broker.js";
import { amqpTestUrl, ensureTestVhost, RawAmqp } from "./support/amqp-server.js";

const probe = new RawAmqp();

beforeAll(() => ensureTestVhost());
afterAll(() => probe.close());

runBrokerConformance({
  name: "amqp",
  createBroker: () => new AmqpBroker({ url: amqpTestUrl(), connectionName: "tq-test-conformance" }),
  probe,
  priorityOrder: "higher-first",
  // Every queue the suite names gets an exchange of the same name (Celery's default binding).
  cleanup: async (queues) => {
    await probe.deleteQueues(queues);
    await probe.deleteExchanges(queues);
  },
});
