import type { TransportFactoryOptions, TransportPlugin } from "../registry.js";
import { MemoryBackend } from "./backend.js";
import { MemoryBroker } from "./broker.js";

/**
 * The `memory://` transport: a broker and a result backend inside the process. `memory://` names
 * the default `MemoryServer`, `memory://<name>` another one; brokers and backends created for
 * the same URL share its state. Built into the registry.
 */
export const memoryTransport: TransportPlugin = Object.freeze({
  name: "memory",
  schemes: Object.freeze(["memory"]),
  createBroker: (url: string, options: TransportFactoryOptions) =>
    new MemoryBroker({ url, logger: options.logger }),
  createBackend: (url: string, options: TransportFactoryOptions) =>
    new MemoryBackend({ url, logger: options.logger }),
});
