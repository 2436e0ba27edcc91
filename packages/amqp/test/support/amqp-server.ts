/**
 * A raw view of the test RabbitMQ, bypassing the broker under test: queue depths through amqplib
 * (`checkQueue`), in-flight counts and connections through `rabbitmqctl`, and clean-up of the
 * queues and exchanges a test created.
 *
 * The broker tests run in a vhost of their own ({@link TEST_VHOST}, created on first use), as the
 * Redis tests use database numbers of their own: other suites on the same server cannot disturb
 * them, notably through the vhost-wide `celery_delayed_*` topology of delayed delivery.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { BrokerProbe } from "@tq/transport-tests";
import amqplib, { type Channel, type ChannelModel } from "amqplib";

const run = promisify(execFile);

/** The vhost of the broker tests. */
export const TEST_VHOST = "tq-broker-test";

/** The test server (`TQ_TEST_AMQP_URL`, default the local guest account), in {@link TEST_VHOST}. */
export function amqpTestUrl(): string {
  const base = process.env.TQ_TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672//";
  return base.replace(/^(amqps?:\/\/[^/?#]*)(\/[^?#]*)?/, `$1/${TEST_VHOST}`);
}

let vhostReady: Promise<void> | undefined;

/** Creates {@link TEST_VHOST} (with permissions for the test user) unless it exists. */
export function ensureTestVhost(): Promise<void> {
  vhostReady ??= (async () => {
    try {
      const model = await amqplib.connect(amqpTestUrl());
      await model.close();
      return;
    } catch {
      // 530 NOT_ALLOWED: the vhost does not exist yet.
    }
    const user = decodeURIComponent(new URL(amqpTestUrl()).username || "guest");
    await run("rabbitmqctl", ["-q", "add_vhost", TEST_VHOST]).catch(() => undefined);
    await run("rabbitmqctl", ["-q", "set_permissions", "-p", TEST_VHOST, user, ".*", ".*", ".*"]);
  })();
  return vhostReady;
}

/** A name unique to this run, for queues, exchanges and connection names. */
export function uniqueName(label: string): string {
  return `tqt-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}-${label}`;
}

/**
 * Runs `rabbitmqctl -q <args>` and returns its output lines (tab-separated columns); the `list_…`
 * commands of queues, exchanges and bindings look at {@link TEST_VHOST}.
 */
export async function rabbitmqctl(...args: string[]): Promise<string[][]> {
  const listing = /^list_/.test(args[0] ?? "");
  const vhost = /^list_(queues|exchanges|bindings)$/.test(args[0] ?? "") ? ["-p", TEST_VHOST] : [];
  const options = listing ? ["-q", "--no-table-headers", ...vhost] : ["-q"];
  const { stdout } = await run("rabbitmqctl", [...options, ...args], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => line.split("\t"));
}

/** A connection of the test's own to the server, and probes of its state. */
export class RawAmqp implements BrokerProbe {
  #model: ChannelModel | undefined;

  /** The raw connection (opened on first use). */
  async connection(): Promise<ChannelModel> {
    await ensureTestVhost();
    this.#model ??= await amqplib.connect(amqpTestUrl(), {
      clientProperties: { connection_name: "tq-test-probe" },
    });
    return this.#model;
  }

  /** Runs `use` on a fresh channel, closed afterwards (a 404 only closes that channel). */
  async withChannel<T>(use: (channel: Channel) => Promise<T>): Promise<T> {
    const channel = await (await this.connection()).createChannel();
    channel.on("error", () => undefined);
    let closed = false;
    channel.once("close", () => {
      closed = true;
    });
    try {
      return await use(channel);
    } finally {
      if (!closed) await channel.close().catch(() => undefined);
    }
  }

  /** Ready messages of a queue (0 when it does not exist). */
  async readyCount(queue: string): Promise<number> {
    return this.withChannel(async (channel) => {
      try {
        return (await channel.checkQueue(queue)).messageCount;
      } catch (error) {
        if ((error as { code?: number }).code === 404) return 0;
        throw error;
      }
    });
  }

  /** Delivered but unacknowledged messages of a queue, from `rabbitmqctl list_queues`. */
  async inFlightCount(queue: string): Promise<number> {
    const rows = await rabbitmqctl("list_queues", "name", "messages_unacknowledged");
    const row = rows.find(([name]) => name === queue);
    return row ? Number(row[1]) : 0;
  }

  /** Deletes queues (missing ones are fine). */
  async deleteQueues(queues: readonly string[]): Promise<void> {
    for (const queue of queues)
      await this.withChannel((channel) => channel.deleteQueue(queue)).catch(() => 0);
  }

  /** Deletes exchanges (missing ones are fine). */
  async deleteExchanges(exchanges: readonly string[]): Promise<void> {
    for (const exchange of exchanges) {
      await this.withChannel((channel) => channel.deleteExchange(exchange)).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const model = this.#model;
    this.#model = undefined;
    await model?.close().catch(() => undefined);
  }
}

/** The server-side ids of the connections whose `connection_name` is `name`. */
export async function connectionsNamed(name: string): Promise<string[]> {
  const rows = await rabbitmqctl("list_connections", "pid", "client_properties");
  return rows
    .filter(([, properties]) => properties?.includes(`{"connection_name","${name}"}`))
    .map(([pid]) => pid as string);
}

/**
 * Closes, from the server side, every connection named `name` (once `expected` of them are there,
 * when given); resolves to how many.
 */
export async function closeConnectionsNamed(name: string, expected?: number): Promise<number> {
  let pids = await connectionsNamed(name);
  // Right after a reconnection some may not be back yet: wait for them, so all are closed at once.
  for (let tries = 0; expected !== undefined && pids.length < expected && tries < 50; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    pids = await connectionsNamed(name);
  }
  await Promise.all(pids.map((pid) => rabbitmqctl("close_connection", pid, "tq test: forced close")));
  return pids.length;
}
