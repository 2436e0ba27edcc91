export type * from "./events.js";
export type { WorkerOptions } from "./options.js";
export * from "./pino-logger.js";
export type { SignalHandlerOptions } from "./signals.js";
export type { WorkerStats } from "./stats.js";
export * from "./worker.js";
