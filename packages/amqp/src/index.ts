export * from "./broker.js";
export type * from "./broker-options.js";
export * from "./delayed-delivery.js";
export * from "./rpc-backend.js";
export type * from "./rpc-backend-options.js";
export * from "./transport.js";
