export * from "./errors.js";
export * from "./logger.js";
export * from "./states.js";
export type * from "./message/types.js";
export type * from "./serializer.js";
export type * from "./broker.js";
export type * from "./result-backend.js";
