export * from "./build.js";
export * from "./parse.js";
export type * from "./types.js";
