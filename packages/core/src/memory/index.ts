export { MemoryBackend, type MemoryBackendOptions, memoryBackend } from "./backend.js";
export { MemoryBroker, type MemoryBrokerOptions, memoryBroker } from "./broker.js";
export { MemoryServer } from "./server.js";
export { memoryTransport } from "./transport.js";
