// The MongoDB stand-in, @tq/mongo-test-server (an in-memory MongoDB wire-protocol server in
// JavaScript), in a process of its own so that it shares no event loop with the producer or a worker.
// Prints {"type":"ready","port"} once it listens on a free loopback port; stops on SIGTERM.
import { startMongoTestServer } from "@tq/mongo-test-server";
import { exitOnSignal } from "../redis/progress.mjs";

const server = await startMongoTestServer({ port: 0, host: "127.0.0.1" });
exitOnSignal(() => server.close());
process.stdout.write(`${JSON.stringify({ type: "ready", port: server.port })}\n`);
