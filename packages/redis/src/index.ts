export * from "./backend.js";
export type * from "./backend-options.js";
export * from "./broker.js";
export type * from "./broker-options.js";
export type { RedisClient } from "./connection.js";
export * from "./schedule-store.js";
export * from "./transport.js";
export * from "./url.js";
