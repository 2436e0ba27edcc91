/**
 * Provides the MongoDB URL the tests use: `TQ_TEST_MONGO_URL` (a real mongod or replica set) when set,
 * else a @tq/mongo-test-server started here for the whole run (TTL sweeps every 200 ms).
 */
import { startMongoTestServer } from "@tq/mongo-test-server";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** Base URL without a database, e.g. `mongodb://127.0.0.1:40123`. */
    mongoUrl: string;
    /** True when the URL is a real MongoDB (TQ_TEST_MONGO_URL). */
    realMongo: boolean;
  }
}

let close: (() => Promise<void>) | undefined;

export async function setup(project: TestProject): Promise<void> {
  const real = process.env.TQ_TEST_MONGO_URL;
  if (real) {
    project.provide("mongoUrl", real);
    project.provide("realMongo", true);
    return;
  }
  const server = await startMongoTestServer({ port: 0, ttlMonitorIntervalMs: 200 });
  close = () => server.close();
  project.provide("mongoUrl", server.url);
  project.provide("realMongo", false);
}

export async function teardown(): Promise<void> {
  await close?.();
}
