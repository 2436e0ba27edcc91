import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { type Channel, type ChannelModel, connect, type GetMessage } from "amqplib";

/** The RabbitMQ the delayed-delivery tests use. */
export const AMQP_URL = process.env.TQ_TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672//";

/** A name prefix unique to this test run, e.g. `tqt-delay-k3j9x2-`. */
export function uniquePrefix(): string {
  return `tqt-delay-${Math.random().toString(36).slice(2, 8)}-`;
}

/** Opens a connection named for the test, so `rabbitmqctl list_connections` shows whose it is. */
export function connectForTest(name: string): Promise<ChannelModel> {
  return connect(AMQP_URL, { clientProperties: { connection_name: name } });
}

/**
 * Deletes the queues a test created (never the shared `celery_delayed_*` topology), once no delayed
 * message for them can still be on its way: pass the latest `deliverAt` the test used. A delayed
 * message whose queue is gone is unroutable when it leaves the levels, and the quorum levels
 * (at-least-once dead-lettering) then keep retrying it, stalling every delayed message of the vhost
 * behind it for minutes — so a test that failed early must not delete its queue at once.
 */
export async function deleteQueues(
  connection: ChannelModel,
  queues: readonly string[],
  lastDeliverAt = 0,
): Promise<void> {
  // Whole-second rounding and the hops through the levels: a little after the ETA at most.
  const waitMs = lastDeliverAt + 3_000 - Date.now();
  if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
  await deleteEach(connection, queues, (channel, queue) => channel.deleteQueue(queue));
}

/** Deletes the exchanges a test created (never the shared `celery_delayed_*` topology). */
export async function deleteExchanges(connection: ChannelModel, exchanges: readonly string[]): Promise<void> {
  await deleteEach(connection, exchanges, (channel, exchange) => channel.deleteExchange(exchange));
}

async function deleteEach(
  connection: ChannelModel,
  names: readonly string[],
  remove: (channel: Channel, name: string) => Promise<unknown>,
): Promise<void> {
  for (const name of names) {
    // A channel each: a failed delete closes its channel, and the others must still run.
    const channel = await connection.createChannel();
    channel.on("error", () => {});
    await remove(channel, name).catch(() => {});
    await channel.close().catch(() => {});
  }
}

/** Polls a queue with basic.get until a message is there; null after `timeoutMs`. */
export async function waitForMessage(
  connection: ChannelModel,
  queue: string,
  timeoutMs: number,
): Promise<GetMessage | null> {
  const channel = await connection.createChannel();
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const message = await channel.get(queue, { noAck: true });
      if (message) return message;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return null;
  } finally {
    await channel.close().catch(() => {});
  }
}

const run = promisify(execFile);

/** Runs a Python snippet with the system interpreter (py-amqp / kombu); resolves to its stdout. */
export async function python(code: string): Promise<string> {
  const { stdout } = await run("/usr/bin/python3", ["-c", code], { timeout: 60_000 });
  return stdout;
}

/** `rabbitmqctl list_bindings` rows (source, destination, routing key) whose source or destination matches. */
export async function listBindings(match: (row: string[]) => boolean): Promise<string[][]> {
  const { stdout } = await run(
    "rabbitmqctl",
    ["list_bindings", "-q", "--no-table-headers", "source_name", "destination_name", "routing_key"],
    { timeout: 60_000 },
  );
  return stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => line.split("\t"))
    .filter(match);
}
