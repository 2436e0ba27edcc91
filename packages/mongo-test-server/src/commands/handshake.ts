import type { CommandHandler } from "../state.js";

/**
 * What this server claims to be: MongoDB 7.0 (wire version 21). The mongodb 7.x driver needs wire
 * version 9 (4.4) or later. No `setName` and no `msg: "isdbgrid"` make the driver see a standalone, so
 * it sends no retryable-write `txnNumber`s and a change stream fails the way it does on a standalone.
 */
export const SERVER_VERSION = "7.0.0";
export const MAX_WIRE_VERSION = 21;

function helloReply(legacy: boolean, connectionId: number) {
  return {
    // The legacy `isMaster` names the primary flag `ismaster`; `hello` names it `isWritablePrimary`.
    ...(legacy ? { ismaster: true } : { isWritablePrimary: true }),
    // No `topologyVersion`: the driver then polls with plain `hello`s instead of the streaming protocol.
    helloOk: true,
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
    // Without this the driver treats the server as having no sessions support.
    logicalSessionTimeoutMinutes: 30,
    connectionId,
    minWireVersion: 0,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
  };
}

export const hello: CommandHandler = (_command, context) => helloReply(false, context.connectionId);

export const isMaster: CommandHandler = (_command, context) => helloReply(true, context.connectionId);

export const ping: CommandHandler = () => ({});

export const buildInfo: CommandHandler = () => ({
  version: SERVER_VERSION,
  gitVersion: "0000000000000000000000000000000000000000",
  versionArray: [7, 0, 0, 0],
  bits: 64,
  debug: false,
  maxBsonObjectSize: 16 * 1024 * 1024,
  storageEngines: ["memory"],
  // Lets a test tell the stand-in from a real mongod without guessing from behaviour.
  tqMongoTestServer: true,
});

export const whatsmyuri: CommandHandler = (_command, context) => ({ you: context.remoteAddress });

export const connectionStatus: CommandHandler = () => ({
  authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] },
});

export const getParameter: CommandHandler = () => ({ featureCompatibilityVersion: { version: "7.0" } });

export const serverStatus: CommandHandler = () => ({
  host: "localhost",
  version: SERVER_VERSION,
  process: "mongod",
  uptime: Math.floor(process.uptime()),
  localTime: new Date(),
});
