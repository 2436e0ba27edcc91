import { MemoryServer, memoryTransport } from "@tq/core";
import { runWorkerConformance } from "../src/index.js";

// Every broker and backend made for this URL shares one in-memory server: the apps of a test are
// separate clients of one broker, as processes on a real one are.
const url = "memory://worker-conformance";
MemoryServer.forUrl(url);

runWorkerConformance({
  name: "memory",
  createBroker: () => memoryTransport.createBroker!(url, {}),
  createBackend: () => memoryTransport.createBackend!(url, {}),
});
