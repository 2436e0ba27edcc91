/** The published broker conformance suite, checked with a raw probe of the messages collection. */
import { runBrokerConformance } from "@tq/transport-tests";
import { afterAll } from "vitest";
import { MongoBroker } from "../src/broker.js";
import { TestDatabase } from "./support/mongo.js";
import { MessagesProbe } from "./support/probe.js";

const database = new TestDatabase("brokerconf");

afterAll(() => database.drop());

runBrokerConformance({
  name: "mongo",
  createBroker: () => new MongoBroker({ url: database.url }),
  probe: new MessagesProbe(database.db),
  // kombu's MongoDB transport serves the higher priority number first (it stores 9 - priority, ascending).
  priorityOrder: "higher-first",
});
