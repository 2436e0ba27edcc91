export * from "./broker.js";
export type * from "./broker-options.js";
export { DELIVER_AT_ATTRIBUTE } from "./publisher.js";
export { entityName, sqsQueueName } from "./queue-names.js";
export * from "./transport.js";
export * from "./url.js";
