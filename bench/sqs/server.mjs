// Starts and stops the SQS stand-in (fauxqs-server.mjs) in its own process.
import { readFileSync } from "node:fs";
import { WorkerChild } from "../child.mjs";

/** fauxqs's version, from its package.json (its `exports` map does not include the file). */
export function fauxqsVersion() {
  const file = new URL("../node_modules/fauxqs/package.json", import.meta.url);
  return JSON.parse(readFileSync(file, "utf8")).version;
}

/**
 * Starts fauxqs in a child process on a free loopback port. Resolves with its endpoint and the child
 * (whose `peakRssMb()` and `stop()` the bench uses); rejects when it does not start within 15 s.
 */
export async function startSqsServer() {
  const script = new URL("./fauxqs-server.mjs", import.meta.url).pathname;
  const child = new WorkerChild("fauxqs", process.execPath, [script]);
  try {
    const { port } = await child.waitFor("ready", 15_000);
    return { endpoint: `http://127.0.0.1:${port}`, child };
  } catch (error) {
    await child.stop();
    throw new Error(`the SQS stand-in (fauxqs) did not start: ${error.message}`);
  }
}

/**
 * Starts the query-protocol gateway (gateway-server.mjs) in front of `upstream` in a child process, for
 * the Celery peer. Resolves with its endpoint and the child; rejects when it does not start within 15 s.
 */
export async function startQueryGateway(upstream) {
  const script = new URL("./gateway-server.mjs", import.meta.url).pathname;
  const child = new WorkerChild("query gateway", process.execPath, [script, upstream]);
  try {
    const { port } = await child.waitFor("ready", 15_000);
    return { endpoint: `http://127.0.0.1:${port}`, child };
  } catch (error) {
    await child.stop();
    throw new Error(`the query-protocol gateway did not start: ${error.message}`);
  }
}
