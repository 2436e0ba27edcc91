import { TqError } from "@tq/core";
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";
import type { ParsedRedisUrl } from "./url.js";

/** A client tq talks to: a single server (standalone or through Sentinel) or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/** Options for the clients tq opens itself. */
export interface ClientFactoryOptions {
  /** Extra ioredis options merged over tq's (TLS certificates, timeouts, `natMap`…). */
  redisOptions?: RedisOptions;
  /** Extra options for a Cluster client. */
  clusterOptions?: ClusterOptions;
  /** Shown in `CLIENT LIST` as the connection name, e.g. `tq-broker`. */
  connectionName?: string;
  /**
   * For connections that block (BRPOP-style waits) or subscribe: they must not queue commands
   * while offline forever, and must not time out a command that blocks on purpose.
   */
  blocking?: boolean;
}

/**
 * Opens a client for a parsed URL. The client connects lazily on its first command, so constructors
 * that call this stay free of I/O. ioredis reconnects by itself with backoff; tq's consumers
 * re-issue their waits after a reconnect.
 */
export function createRedisClient(url: ParsedRedisUrl, options: ClientFactoryOptions = {}): RedisClient {
  const { target } = url;
  const common: RedisOptions = {
    lazyConnect: true,
    db: url.db,
    ...(url.username === undefined ? {} : { username: url.username }),
    ...(url.password === undefined ? {} : { password: url.password }),
    ...(options.connectionName === undefined ? {} : { connectionName: options.connectionName }),
    ...(target.tls ? { tls: {} } : {}),
    // null: a command waits through a reconnect instead of failing after 20 attempts; tq bounds
    // waits with its own timeouts and AbortSignals.
    maxRetriesPerRequest: null,
    ...options.redisOptions,
  };
  switch (target.kind) {
    case "standalone":
      return new Redis({ ...common, host: target.host, port: target.port });
    case "sentinel": {
      const { password: _password, username: _username, ...rest } = common;
      return new Redis({
        ...rest,
        sentinels: target.sentinels,
        name: target.masterName,
        ...(url.password === undefined ? {} : { password: url.password }),
        ...(url.username === undefined ? {} : { username: url.username }),
        ...(target.tls ? { enableTLSForSentinelMode: true } : {}),
      });
    }
    case "cluster": {
      const { db: _db, ...redisOptions } = common;
      return new Cluster(target.nodes, {
        lazyConnect: true,
        redisOptions,
        ...(target.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
        ...options.clusterOptions,
      });
    }
  }
}

/** True for a Redis Cluster client. */
export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster || (client as { isCluster?: boolean }).isCluster === true;
}

/** How long a connect may take before it fails: ioredis bounds the TCP connect, not the handshake. */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Connects a client that may be lazy, already connecting or already ready, failing with
 * `TQ_CONNECTION` after `timeoutMs`: a server that accepts the TCP connection and never answers
 * (a stuck proxy, a wrong port) would otherwise hang the caller forever.
 */
export async function ensureConnected(
  client: RedisClient,
  component: string,
  timeoutMs: number = CONNECT_TIMEOUT_MS,
): Promise<void> {
  if (client.status === "ready") return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const attempt = connectOnce(client, component);
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new TqError("TQ_CONNECTION", `cannot connect to Redis: no answer within ${timeoutMs} ms`, {
            component,
          }),
        ),
      timeoutMs,
    );
  });
  try {
    await Promise.race([attempt, timedOut]);
  } finally {
    clearTimeout(timer);
    attempt.catch(() => {}); // the race has its outcome; a later rejection is not unhandled
  }
}

/**
 * One connect attempt. ioredis throws when `connect()` is called on a client that is not idle, so
 * check its status first.
 */
async function connectOnce(client: RedisClient, component: string): Promise<void> {
  if (client.status === "ready") return;
  // connect() rejects with ioredis' generic "Connection is closed."; the "error" event carries the
  // reason (ECONNREFUSED, ETIMEDOUT, WRONGPASS…), a better message and cause.
  let driverError: Error | undefined;
  const onDriverError = (error: Error) => {
    driverError ??= error;
  };
  client.on("error", onDriverError);
  try {
    const status = client.status;
    // "reconnecting": try now instead of after ioredis' backoff. A client disconnected during that
    // backoff even stays "reconnecting" for good (no timer, no socket left to emit "end").
    if (status === "wait" || status === "end" || status === "close" || status === "reconnecting") {
      await client.connect();
      refuseServerError(client, driverError);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const onReady = () => {
        cleanup();
        resolve();
      };
      const onError = (error: Error) => {
        cleanup();
        reject(error);
      };
      const onEnd = () => {
        cleanup();
        reject(new Error("connection closed"));
      };
      const cleanup = () => {
        client.off("ready", onReady);
        client.off("error", onError);
        client.off("end", onEnd);
      };
      client.once("ready", onReady);
      client.once("error", onError);
      client.once("end", onEnd);
    });
    refuseServerError(client, driverError);
  } catch (cause) {
    const reason = driverError ?? (cause as Error);
    throw new TqError("TQ_CONNECTION", `cannot connect to Redis: ${reason.message}`, {
      cause: reason,
      component,
    });
  } finally {
    client.off("error", onDriverError);
  }
}

/**
 * ioredis reports a failed step of its connection handshake (e.g. `SELECT 99`: "ERR DB index is out
 * of range") as an "error" event and still becomes ready, on database 0: messages would silently go
 * to the wrong database. A server error reply during the handshake is a failed connect.
 */
function refuseServerError(client: RedisClient, driverError: Error | undefined): void {
  if (driverError === undefined || driverError.name !== "ReplyError") return;
  client.disconnect();
  throw driverError;
}

/**
 * Closes a client tq opened: QUIT when connected (lets replies drain), else disconnect. Resolves once
 * the client has ended: between QUIT's reply and the socket's close it still says "ready", and a
 * later {@link ensureConnected} would take it for connected instead of reopening it.
 */
export async function closeClient(client: RedisClient): Promise<void> {
  if (client.status === "end") return;
  if (client.status === "reconnecting" && !isCluster(client)) {
    // Waiting out a reconnect backoff, without a socket: disconnect() cancels the retry, and ioredis
    // emits no "end" then (the status stays "reconnecting"; ensureConnected copes with that).
    client.disconnect();
    return;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onEnd = () => {};
  const ended = new Promise<void>((resolve) => {
    onEnd = resolve;
    client.once("end", onEnd);
    // Never wait forever on a driver that does not report its close.
    timer = setTimeout(resolve, CLOSE_WAIT_MS);
  });
  if (client.status === "ready") {
    try {
      await client.quit();
    } catch {
      client.disconnect();
    }
  } else {
    client.disconnect();
  }
  // ioredis emits "end" on the next tick even when disconnect() ended the client synchronously.
  await ended;
  clearTimeout(timer);
  client.off("end", onEnd);
}

const CLOSE_WAIT_MS = 1_000;
