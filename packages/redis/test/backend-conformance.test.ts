import { runBackendConformance } from "@tq/transport-tests";
import { afterAll } from "vitest";
import { RedisBackend } from "../src/backend.js";
import { deleteKeys, rawClient, redisUrl, runPrefix } from "./support/backend-redis.js";

// DB 5 belongs to this file. Ids are run-unique, so nothing else is touched.
const DB = 5;
const idPrefix = runPrefix("conf");

runBackendConformance({
  name: "redis",
  createBackend: () => new RedisBackend({ url: redisUrl(DB) }),
  idPrefix,
  supportsExpiry: true,
  expiryMs: 1_000,
  expiryGraceMs: 2_000,
});

afterAll(async () => {
  const client = rawClient(DB);
  try {
    await deleteKeys(client, `*${idPrefix}*`);
  } finally {
    client.disconnect();
  }
});
