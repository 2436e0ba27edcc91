export * from "./backend.js";
export type * from "./backend-codec.js";
export type * from "./backend-options.js";
export * from "./broker.js";
export type * from "./broker-options.js";
export type * from "./connection.js";
export type * from "./message-codec.js";
export * from "./transport.js";
export * from "./url.js";
