export { MAX_WIRE_VERSION, SERVER_VERSION } from "./commands/handshake.js";
export { ErrorCodes } from "./errors.js";
export { type MongoTestServer, type MongoTestServerOptions, startMongoTestServer } from "./server.js";
