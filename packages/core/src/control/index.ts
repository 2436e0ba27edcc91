export * from "./control.js";
export * from "./destination.js";
export * from "./lamport-clock.js";
export * from "./pidbox-message.js";
