export { runBackendConformance } from "./backend-suite.js";
export { runBrokerConformance } from "./broker-suite.js";
export type { BackendConformanceOptions, BrokerConformanceOptions, BrokerProbe } from "./options.js";
