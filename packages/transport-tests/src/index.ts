export { runBackendConformance } from "./backend-suite.js";
export { runBrokerConformance } from "./broker-suite.js";
export type { BackendConformanceOptions, BrokerConformanceOptions, BrokerProbe } from "./options.js";
export { runScheduleStoreConformance, type ScheduleStoreConformanceOptions } from "./schedule-store-suite.js";
export { type SuiteLogRecord, type WorkerConformanceOptions, WorkerHarness } from "./worker-harness.js";
export { type DefineWorkerTest, runWorkerConformance } from "./worker-suite.js";
