/** The published result backend conformance suite. */
import { runBackendConformance } from "@tq/transport-tests";
import { afterAll } from "vitest";
import { MongoBackend } from "../src/backend.js";
import { TestDatabase } from "./support/mongo.js";

const database = new TestDatabase("backendconf");

afterAll(() => database.drop());

runBackendConformance({
  name: "mongo",
  createBackend: () => new MongoBackend({ url: database.url }),
  supportsExpiry: true,
  expiryMs: 1_000,
  expiryGraceMs: 2_000,
});
