/**
 * `pnpm --filter @tq/mongo-test-server serve [port]`: the stand-in in the foreground, for trying the
 * quickstart on MongoDB where no mongod is installed. Data lives in memory until Ctrl-C.
 */
import { startMongoTestServer } from "./server.js";

const port = Number(process.argv[2] ?? process.env.PORT ?? 27017);
const server = await startMongoTestServer({ port, host: "127.0.0.1" });
console.log(
  `@tq/mongo-test-server listening on mongodb://127.0.0.1:${server.port} (in memory; Ctrl-C stops it)`,
);
const stop = () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
