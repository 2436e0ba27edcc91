import { TqError } from "../errors.js";
import { BrokerEngine } from "./engine.js";
import { ResultStore } from "./result-store.js";

// Internal halves of a server, out of its public API: brokers and backends reach them through
// the accessors below, which index.ts does not re-export.
const engines = new WeakMap<MemoryServer, BrokerEngine>();
const resultStores = new WeakMap<MemoryServer, ResultStore>();
// One server per `memory://<host>` in this copy of @tq/core; `memory://` is the host "".
const sharedServers = new Map<string, MemoryServer>();

/**
 * The state a real broker and result store would keep on a server: queues, exchanges, result
 * documents. Every `MemoryBroker` and `MemoryBackend` on one server sees the same state, so one
 * process can hold a client, several workers, and a worker that goes away.
 *
 * Its read-only probe methods (`readyCount`, `inFlightCount`) let tests check real state.
 */
export class MemoryServer {
  constructor() {
    engines.set(this, new BrokerEngine());
    resultStores.set(this, new ResultStore());
  }

  /**
   * The process-wide server for a `memory://` URL, created on first use: `memory://` is the default
   * server and `memory://other` another one.
   * @throws TqError `TQ_CONFIG` when the URL is not a `memory:` URL
   */
  static forUrl(url = "memory://"): MemoryServer {
    const host = memoryHost(url);
    let server = sharedServers.get(host);
    if (!server) {
      server = new MemoryServer();
      sharedServers.set(host, server);
    }
    return server;
  }

  /** How many messages of a queue wait to be delivered (0 for a queue that does not exist). */
  readyCount(queue: string): number {
    return engineOf(this).findQueue(queue)?.ready.size ?? 0;
  }

  /** How many messages of a queue are delivered and not settled yet. */
  inFlightCount(queue: string): number {
    return engineOf(this).findQueue(queue)?.inFlight.size ?? 0;
  }

  /** Names of the queues that exist on this server. */
  queueNames(): string[] {
    return engineOf(this).queueNames();
  }
}

/** @internal The broker side of a server. */
export function engineOf(server: MemoryServer): BrokerEngine {
  return engines.get(server)!;
}

/** @internal The result side of a server. */
export function resultStoreOf(server: MemoryServer): ResultStore {
  return resultStores.get(server)!;
}

function memoryHost(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new TqError("TQ_CONFIG", `"${url}" is not a URL; use memory:// or memory://<name>`, {
      component: "memory",
      cause: error,
    });
  }
  if (parsed.protocol !== "memory:") {
    throw new TqError("TQ_CONFIG", `"${parsed.protocol}" URLs are not served by the memory transport`, {
      component: "memory",
    });
  }
  return parsed.host.toLowerCase();
}
