import { type AddressInfo, createServer, type Socket } from "node:net";
import { TqError } from "@tq/core";
import { Cluster, Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import {
  closeClient,
  createRedisClient,
  ensureConnected,
  isCluster,
  type RedisClient,
} from "../src/connection.js";
import { parseRedisUrl } from "../src/url.js";

// DB 12 of the local Redis belongs to the quickstart/CLI tests and to this file; this file only
// reads CLIENT LIST and touches keys it names itself, so nothing is flushed.
const redisUrl = process.env.TQ_TEST_REDIS_URL ?? "redis://127.0.0.1:6379/12";
const parsedUrl = { ...parseRedisUrl(redisUrl), db: 12 };
const run = `tq-conn-${process.pid}-${Date.now().toString(36)}`;

const opened: RedisClient[] = [];
/** A client of this file, disconnected after each test whatever happens. */
function client(options: Parameters<typeof createRedisClient>[1] = {}, url = parsedUrl): RedisClient {
  const created = createRedisClient(url, options);
  // ioredis prints unhandled "error" events; failed connections are expected in several tests.
  created.on("error", () => {});
  opened.push(created);
  return created;
}

afterEach(() => {
  for (const each of opened.splice(0)) each.disconnect();
});

/** Connections currently open on the server under a connection name. */
async function connectionsNamed(name: string): Promise<string[]> {
  const observer = new Redis({ ...connectionTarget(), lazyConnect: true });
  try {
    const list = (await observer.client("LIST")) as string;
    return list.split("\n").filter((line) => line.includes(` name=${name} `));
  } finally {
    observer.disconnect();
  }
}

function connectionTarget(): { host: string; port: number } {
  if (parsedUrl.target.kind !== "standalone") throw new Error("TQ_TEST_REDIS_URL must name one server");
  return { host: parsedUrl.target.host, port: parsedUrl.target.port };
}

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitForStatus(redis: RedisClient, status: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (redis.status !== status) {
    if (Date.now() > deadline) throw new Error(`status stayed ${redis.status}, expected ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function expectConnectionError(promise: Promise<unknown>): Promise<TqError> {
  const error = await promise.then(
    () => new Error("expected a TQ_CONNECTION error, the promise resolved"),
    (e: unknown) => e,
  );
  if (!TqError.is(error, "TQ_CONNECTION")) throw error;
  expect(error.message).toMatch(/^\[tq\] \[redis\] /);
  expect(error.cause).toBeInstanceOf(Error);
  return error;
}

describe("createRedisClient", () => {
  it("opens no connection before the first command, then uses the URL's database", async () => {
    const name = `${run}-lazy`;
    const redis = client({ connectionName: name });
    expect(redis.status).toBe("wait");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await connectionsNamed(name)).toEqual([]);
    const key = `${run}:lazy`;
    await redis.set(key, "1", "PX", 60_000);
    expect(redis.status).toBe("ready");
    const [line] = await connectionsNamed(name);
    expect(line).toContain(" db=12 ");
    expect(await redis.del(key)).toBe(1);
  });

  it("makes a Cluster client for redis+cluster:// and a Sentinel client for redis+sentinel://, both lazy", () => {
    const cluster = client({}, parseRedisUrl("redis+cluster://:pw@127.0.0.1:7000,127.0.0.1:7001"));
    expect(cluster).toBeInstanceOf(Cluster);
    expect(isCluster(cluster)).toBe(true);
    expect(cluster.status).toBe("wait");
    expect((cluster as Cluster).options.redisOptions).toMatchObject({ password: "pw" });
    expect((cluster as Cluster).options.redisOptions).not.toHaveProperty("db");

    const sentinel = client({}, parseRedisUrl("redis+sentinel://:pw@127.0.0.1:26379/3?master=queues"));
    expect(sentinel).toBeInstanceOf(Redis);
    expect(isCluster(sentinel)).toBe(false);
    expect(sentinel.status).toBe("wait");
    expect((sentinel as Redis).options).toMatchObject({
      name: "queues",
      sentinels: [{ host: "127.0.0.1", port: 26379 }],
      password: "pw",
      db: 3,
    });
    expect(isCluster(client())).toBe(false);
  });

  it("passes TLS, credentials and the caller's redisOptions (which win) to ioredis", () => {
    const redis = client(
      { redisOptions: { connectTimeout: 1234, db: 7 } },
      parseRedisUrl("rediss://user:pa%40ss@127.0.0.1:6380/2"),
    ) as Redis;
    expect(redis.options).toMatchObject({
      tls: {},
      username: "user",
      password: "pa@ss",
      port: 6380,
      connectTimeout: 1234,
      db: 7,
    });
  });
});

describe("ensureConnected", () => {
  it("connects a lazy client, and returns at once for a ready one", async () => {
    const redis = client();
    await ensureConnected(redis, "redis");
    expect(redis.status).toBe("ready");
    await ensureConnected(redis, "redis");
    expect(await redis.ping()).toBe("PONG");
  });

  it("waits for a client that is connecting already", async () => {
    const redis = client();
    const connecting = redis.connect();
    expect(redis.status).toBe("connecting");
    await ensureConnected(redis, "redis");
    expect(redis.status).toBe("ready");
    await connecting;
  });

  it("reconnects a client that was closed", async () => {
    const redis = client();
    await ensureConnected(redis, "redis");
    await closeClient(redis);
    expect(redis.status).toBe("end");
    await ensureConnected(redis, "redis");
    expect(await redis.ping()).toBe("PONG");
  });

  it("waits for a client that is reconnecting after the server dropped it", async () => {
    const redis = client({ redisOptions: { retryStrategy: () => 100 } }) as Redis;
    await ensureConnected(redis, "redis");
    const id = await redis.client("ID");
    const killer = new Redis({ ...connectionTarget(), lazyConnect: true });
    try {
      await killer.client("KILL", "ID", String(id));
    } finally {
      killer.disconnect();
    }
    await waitForStatus(redis, "reconnecting");
    await ensureConnected(redis, "redis");
    expect(redis.status).toBe("ready");
    expect(await redis.client("ID")).not.toBe(id);
  });

  it("fails fast with TQ_CONNECTION when nothing listens, even with ioredis' default retries", async () => {
    const port = await closedPort();
    for (const redisOptions of [{ retryStrategy: () => null }, {}]) {
      const redis = client({ redisOptions }, parseRedisUrl(`redis://127.0.0.1:${port}/0`));
      const started = Date.now();
      await expectConnectionError(ensureConnected(redis, "redis"));
      expect(Date.now() - started).toBeLessThan(1_000);
    }
  });

  it("fails with TQ_CONNECTION for a client already retrying an unreachable server", async () => {
    const port = await closedPort();
    const redis = client(
      { redisOptions: { retryStrategy: () => 50 } },
      parseRedisUrl(`redis://127.0.0.1:${port}/0`),
    );
    await expectConnectionError(ensureConnected(redis, "redis"));
    expect(redis.status).toMatch(/reconnecting|connecting/);
    const started = Date.now();
    await expectConnectionError(ensureConnected(redis, "redis"));
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("fails with TQ_CONNECTION, with the driver's reason, when the server never answers the handshake", async () => {
    // Accepts and never speaks: TCP connects (so connectTimeout no longer applies) and the handshake's
    // reply never comes. Only commandTimeout bounds that wait.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as { port: number };
    try {
      const redis = client(
        { redisOptions: { commandTimeout: 200, retryStrategy: () => null } },
        parseRedisUrl(`redis://127.0.0.1:${port}/0`),
      );
      const error = await expectConnectionError(ensureConnected(redis, "redis"));
      expect(error.message).toContain("timed out");
    } finally {
      silent.close();
    }
  });

  it("names the driver's reason (ECONNREFUSED), not only that the connection closed", async () => {
    const port = await closedPort();
    const redis = client(
      { redisOptions: { retryStrategy: () => null } },
      parseRedisUrl(`redis://127.0.0.1:${port}/0`),
    );
    const error = await expectConnectionError(ensureConnected(redis, "redis"));
    expect(error.message).toContain("ECONNREFUSED");
    expect((error.cause as { code?: string }).code).toBe("ECONNREFUSED");
  });
});

describe("closeClient", () => {
  it("closes a client that never connected, without connecting it", async () => {
    const name = `${run}-never`;
    const redis = client({ connectionName: name });
    await closeClient(redis);
    expect(redis.status).toBe("end");
    expect(await connectionsNamed(name)).toEqual([]);
  });

  it("QUITs a ready client, letting its pending replies arrive", async () => {
    const name = `${run}-ready`;
    const redis = client({ connectionName: name });
    await ensureConnected(redis, "redis");
    const key = `${run}:quit`;
    const pending = redis.set(key, "v", "PX", 60_000);
    await closeClient(redis);
    expect(await pending).toBe("OK");
    expect(redis.status).toBe("end");
    expect(await connectionsNamed(name)).toEqual([]);
    const checker = client();
    expect(await checker.getdel(key)).toBe("v");
  });

  it("does nothing for a client that is closed already", async () => {
    const redis = client();
    await ensureConnected(redis, "redis");
    await closeClient(redis);
    await closeClient(redis);
    expect(redis.status).toBe("end");
  });

  it("closes a client while it connects", async () => {
    const name = `${run}-connecting`;
    const redis = client({ connectionName: name });
    redis.connect().catch(() => {});
    expect(redis.status).toBe("connecting");
    await closeClient(redis);
    await waitForStatus(redis, "end");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await connectionsNamed(name)).toEqual([]);
  });

  it("stops a client that keeps retrying an unreachable server, and can reopen it later", async () => {
    const port = await closedPort();
    const url = parseRedisUrl(`redis://127.0.0.1:${port}/0`);
    const redis = client({ redisOptions: { retryStrategy: () => 20 } }, url);
    let attempts = 0;
    redis.on("connecting", () => attempts++);
    await expectConnectionError(ensureConnected(redis, "redis"));
    await waitForStatus(redis, "reconnecting");
    const started = Date.now();
    await closeClient(redis);
    expect(Date.now() - started).toBeLessThan(2_000);
    const attemptsAtClose = attempts;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(attempts).toBe(attemptsAtClose);
    // ioredis leaves such a client "reconnecting" with no timer left: reopening must not wait forever.
    await expectConnectionError(ensureConnected(redis, "redis"));
    expect(attempts).toBe(attemptsAtClose + 1);
  });

  it("closes a client that reconnects after the server dropped it", async () => {
    const redis = client({ redisOptions: { retryStrategy: () => 50 } }) as Redis;
    await ensureConnected(redis, "redis");
    const id = await redis.client("ID");
    const killer = client() as Redis;
    await killer.client("KILL", "ID", String(id));
    await waitForStatus(redis, "reconnecting");
    await closeClient(redis);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(redis.status).not.toBe("ready");
    await ensureConnected(redis, "redis");
    expect(await redis.ping()).toBe("PONG");
  });
});

describe("ensureConnected against a server that never answers", () => {
  it("fails with TQ_CONNECTION after its timeout instead of hanging", async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as AddressInfo).port;
    const client = createRedisClient(parseRedisUrl(`redis://127.0.0.1:${port}/0`));
    const started = Date.now();
    try {
      await expect(ensureConnected(client, "redis", 300)).rejects.toMatchObject({ code: "TQ_CONNECTION" });
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      client.disconnect();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
