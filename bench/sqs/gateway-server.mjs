// The query-protocol gateway of @tq/sqs's interop tests (packages/sqs/test/support/query-gateway.ts),
// in a process of its own, in front of fauxqs: Debian's kombu 5.2 speaks SQS's query (XML) protocol
// and fauxqs only the JSON one. Only the Celery peer goes through it, so Celery pays one more loopback
// HTTP hop per request than tq and the ceiling (the README says so). Usage: gateway-server.mjs
// <fauxqs endpoint>; prints {"type":"ready","port"} once it listens; stops on SIGTERM.
import { register } from "tsx/esm/api";
import { exitOnSignal } from "../redis/progress.mjs";

register();
const { startQueryGateway } = await import("../../packages/sqs/test/support/query-gateway.ts");
const gateway = await startQueryGateway(process.argv[2]);
exitOnSignal(() => gateway.close());
process.stdout.write(`${JSON.stringify({ type: "ready", port: Number(new URL(gateway.url).port) })}\n`);
