// Starts and stops the MongoDB stand-in (mongo-server.mjs) in its own process.
import { WorkerChild } from "../child.mjs";

/**
 * Starts @tq/mongo-test-server in a child process on a free loopback port. Resolves with its URL and
 * the child (whose `peakRssMb()` and `stop()` the bench uses); rejects when it does not start in 15 s.
 */
export async function startMongoServer() {
  const script = new URL("./mongo-server.mjs", import.meta.url).pathname;
  const child = new WorkerChild("mongo-test-server", process.execPath, [script]);
  try {
    const { port } = await child.waitFor("ready", 15_000);
    return { url: `mongodb://127.0.0.1:${port}`, child };
  } catch (error) {
    await child.stop();
    throw new Error(`the MongoDB stand-in (@tq/mongo-test-server) did not start: ${error.message}`);
  }
}
