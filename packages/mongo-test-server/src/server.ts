import { createServer, type Socket } from "node:net";
import { serveConnection } from "./connection.js";
import { CursorRegistry } from "./cursors.js";
import type { ServerState } from "./state.js";
import { Store } from "./store.js";
import { sweepExpired } from "./ttl.js";

/** Options of {@link startMongoTestServer}. */
export interface MongoTestServerOptions {
  /**
   * TCP port to listen on; 0 picks a free one.
   * @default 0
   */
  port?: number;
  /**
   * Address to listen on. Keep it on loopback: the server has no authentication.
   * @default "127.0.0.1"
   */
  host?: string;
  /**
   * How often expired documents of TTL indexes are deleted. mongod's TTL monitor runs every 60 s; tests
   * want seconds or less.
   * @default 1000
   */
  ttlMonitorIntervalMs?: number;
}

/** A running server. */
export interface MongoTestServer {
  /** Connection string for the driver, e.g. `mongodb://127.0.0.1:40123`. */
  readonly url: string;
  readonly port: number;
  /** Stops listening, drops every client connection and forgets all data. */
  close(): Promise<void>;
}

/**
 * Starts an in-memory server speaking enough of MongoDB's wire protocol for the official driver and the
 * tq Mongo transport. Each call is an independent server with its own empty databases.
 */
export async function startMongoTestServer(options: MongoTestServerOptions = {}): Promise<MongoTestServer> {
  const host = options.host ?? "127.0.0.1";
  const state: ServerState = { store: new Store(), cursors: new CursorRegistry() };
  const sockets = new Set<Socket>();
  let nextConnectionId = 1;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    serveConnection(socket, nextConnectionId++, state);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const ttlMonitor = setInterval(() => sweepExpired(state.store), options.ttlMonitorIntervalMs ?? 1000);
  // A forgotten server must not keep the test process alive.
  ttlMonitor.unref();
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : (options.port ?? 0);
  let closing: Promise<void> | undefined;
  return {
    url: `mongodb://${host}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(ttlMonitor);
        state.cursors.clear();
        // server.close() waits for open connections; clients that stay connected would block it forever.
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}
