export * from "./build.js";
export * from "./envelope.js";
export * from "./parse.js";
export type * from "./types.js";
