/**
 * Helpers of the rpc:// backend tests: the RabbitMQ URL, names unique to the run, raw amqplib access
 * to read what the backend really declared and sent, a logger that records, and server-side
 * connection closing (`rabbitmqctl close_connection`, for the connections a test named itself).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { LogAttributes, Logger } from "@tq/core";
import { type ChannelModel, connect, type GetMessage } from "amqplib";

const run = promisify(execFile);

/** The RabbitMQ the tests use. */
export const AMQP_URL = process.env.TQ_TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672//";

/** A prefix unique to this run and label, e.g. `tqt-rpc-waits-k3j9x2`. */
export function runPrefix(label: string): string {
  return `tqt-rpc-${label}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** A raw connection for probing, named so `rabbitmqctl` shows whose it is. */
export function rawConnection(name: string): Promise<ChannelModel> {
  return connect(AMQP_URL, { clientProperties: { connection_name: name } });
}

/** Polls a queue with basic.get (no ack) until a message is there; null after `timeoutMs`. */
export async function getMessage(
  connection: ChannelModel,
  queue: string,
  timeoutMs = 5_000,
): Promise<GetMessage | null> {
  const channel = await connection.createChannel();
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const message = await channel.get(queue, { noAck: true });
      if (message) return message;
      await sleep(20);
    }
    return null;
  } finally {
    await channel.close().catch(() => {});
  }
}

/** Whether a queue exists (a passive declare on a channel of its own, which a 404 closes). */
export async function queueExists(connection: ChannelModel, queue: string): Promise<boolean> {
  const channel = await connection.createChannel();
  channel.on("error", () => {});
  try {
    await channel.checkQueue(queue);
    await channel.close().catch(() => {});
    return true;
  } catch {
    return false;
  }
}

/** A queue as `rabbitmqctl list_queues` reports it. */
export interface QueueRow {
  durable: boolean;
  autoDelete: boolean;
  exclusive: boolean;
  arguments: Record<string, unknown>;
  consumers: number;
}

/** The server's own view of a queue's declaration, or null when it does not exist. */
export async function listQueue(queue: string): Promise<QueueRow | null> {
  const { stdout } = await run(
    "rabbitmqctl",
    [
      "list_queues",
      "-q",
      "--formatter",
      "json",
      "name",
      "durable",
      "auto_delete",
      "exclusive",
      "arguments",
      "consumers",
    ],
    { timeout: 60_000 },
  );
  const rows = JSON.parse(stdout) as Array<Record<string, unknown>>;
  const row = rows.find((candidate) => candidate.name === queue);
  if (!row) return null;
  // The JSON formatter gives arguments as [name, type, value] triples.
  const args = Object.fromEntries(
    ((row.arguments ?? []) as Array<[string, string, unknown]>).map(([key, , value]) => [key, value]),
  );
  return {
    durable: row.durable === true,
    autoDelete: row.auto_delete === true,
    exclusive: row.exclusive === true,
    arguments: args,
    consumers: Number(row.consumers),
  };
}

/** Closes, from the server side, the connections whose `connection_name` is `name`; resolves to how many. */
export async function closeConnectionsNamed(name: string): Promise<number> {
  // The table format prints pids as close_connection takes them (`<rabbit@host.1.2.3>`).
  const { stdout } = await run(
    "rabbitmqctl",
    ["list_connections", "-q", "--no-table-headers", "pid", "client_properties"],
    { timeout: 60_000 },
  );
  const pids = stdout
    .split("\n")
    .filter((line) => line.includes(`{"connection_name","${name}"}`))
    .map((line) => line.split("\t")[0] as string);
  for (const pid of pids)
    await run("rabbitmqctl", ["close_connection", pid, "tq rpc test"], { timeout: 60_000 });
  return pids.length;
}

/** A logged line. */
export interface LogLine {
  level: "error" | "warn" | "info" | "debug";
  message: string;
  attributes: LogAttributes | undefined;
}

/** A logger that keeps every line, for asserting what the backend reported. */
export function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine["level"]) =>
    (message: string, attributes?: LogAttributes): void => {
      lines.push({ level, message, attributes });
    };
  return { lines, error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") };
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Calls `probe` until it returns something other than undefined/null/false; throws after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 5_000,
  what = "the condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await sleep(25);
  }
}

/** A promise's outcome, caught, so a test can assert a rejection that happens later. */
export function settle<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}
