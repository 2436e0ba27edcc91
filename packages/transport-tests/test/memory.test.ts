import { MemoryServer, memoryTransport } from "@tq/core";
import { runBackendConformance, runBrokerConformance } from "../src/index.js";

// Through the plugin object and a URL, as an application would get them: every instance created
// for this URL shares one in-memory server, which the probe reads directly.
const url = "memory://transport-conformance";
const server = MemoryServer.forUrl(url);

runBrokerConformance({
  name: "memory",
  createBroker: () => memoryTransport.createBroker!(url, {}),
  probe: {
    readyCount: async (queue) => server.readyCount(queue),
    inFlightCount: async (queue) => server.inFlightCount(queue),
  },
});

runBackendConformance({
  name: "memory",
  createBackend: () => memoryTransport.createBackend!(url, {}),
});
