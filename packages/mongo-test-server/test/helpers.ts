import { type Db, MongoClient, type MongoClientOptions } from "mongodb";
import { afterAll, beforeAll } from "vitest";
import { type MongoTestServer, type MongoTestServerOptions, startMongoTestServer } from "../src/index.js";

/** A server and a connected official-driver client for one test file, both closed after it. */
export interface TestEnvironment {
  server: MongoTestServer;
  client: MongoClient;
  db: Db;
}

export function useServer(options: MongoTestServerOptions = {}): TestEnvironment {
  const env = {} as TestEnvironment;
  beforeAll(async () => {
    env.server = await startMongoTestServer(options);
    env.client = await connect(env.server.url);
    env.db = env.client.db("tq_test");
  });
  afterAll(async () => {
    await env.client?.close();
    await env.server?.close();
  });
  return env;
}

/** A client that gives up quickly, so a broken server fails a test instead of hanging it. */
export async function connect(url: string, options: MongoClientOptions = {}): Promise<MongoClient> {
  const client = new MongoClient(url, {
    serverSelectionTimeoutMS: 2_000,
    connectTimeoutMS: 2_000,
    ...options,
  });
  await client.connect();
  return client;
}
