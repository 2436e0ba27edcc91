// The SQS stand-in, fauxqs (an in-memory SQS emulator in JavaScript), in a process of its own so that
// it shares no event loop with the producer or a worker. Prints {"type":"ready","port"} once it
// listens on a free port; stops on SIGTERM.
//
// The queue URLs it hands out name `sqs.us-east-1.localhost:<port>`, which need not resolve: every
// client here is given the endpoint (`http://127.0.0.1:<port>`), and the SDK then sends each request
// there. (fauxqs listens on every interface whatever its `host` option says; it has no authentication.)
import { startFauxqs } from "fauxqs";
import { exitOnSignal } from "../redis/progress.mjs";

const server = await startFauxqs({ port: 0, logger: false });
exitOnSignal(() => server.stop());
process.stdout.write(`${JSON.stringify({ type: "ready", port: server.port })}\n`);
