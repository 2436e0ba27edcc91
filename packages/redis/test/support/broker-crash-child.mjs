// A worker process for the crash tests: consumes with the BUILT package, holds every message it
// gets without settling it, and reports what it holds on stdout, one JSON line per change, until the
// test kills it with SIGKILL. Arguments: <url> <queue> <prefetch> <visibilityTimeoutMs>.
import { RedisBroker } from "../../dist/index.js";

const [url, queue, prefetch, visibilityTimeoutMs] = process.argv.slice(2);
const broker = new RedisBroker({ url, visibilityTimeoutMs: Number(visibilityTimeoutMs) });
const held = [];
await broker.consume(
  [queue],
  (delivery) => {
    held.push(String(delivery.message.headers.id));
    process.stdout.write(`${JSON.stringify({ held })}\n`);
  },
  { prefetch: Number(prefetch) },
);
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
