/**
 * A Python Celery 5.2 client (kombu 5.2's SQS transport: boto3/botocore 1.29 publishing) sends tasks
 * that a tq worker (createApp + createWorker on SqsBroker) runs from the same SQS queue; the results go
 * through Redis DB 12, where Python reads them back.
 */
import { Buffer } from "node:buffer";
import { GetQueueUrlCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { type App, createApp, currentTask } from "@tq/core";
import { redisTransport } from "@tq/redis";
import { stopAll } from "@tq/test-processes";
import { createWorker, type Worker } from "@tq/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeMessageBody } from "../../src/codec.js";
import { SqsBroker } from "../../src/index.js";
import {
  deleteQueuesUnder,
  interopBackendUrl,
  openPythonSqs,
  type PythonOutcome,
  type PythonSqs,
  type PythonTarget,
  pythonUnavailable,
  runPythonClient,
  sqsQueuesUnder,
  waitUntilDrained,
} from "../support/interop.js";
import { clientSettings, testBrokerOptions, uniqueName } from "../support/sqs.js";

const skipReason = pythonUnavailable();
if (skipReason) console.warn(`[@tq/sqs interop] skipped: ${skipReason}`);

// Dots in the prefix and the queue: kombu and tq must both turn them into "-".
const prefix = `${uniqueName("py2tq")}.`;
const queue = "interop.py2tq.tasks";
const rawQueue = "interop.py2tq.raw";
const HOSTNAME = "tq-sqs-interop@test";

let sqs: PythonSqs;
let target: PythonTarget;
let app: App;
let worker: Worker;
const ran: string[] = [];

function succeeded(outcome: PythonOutcome | undefined): PythonOutcome {
  if (!outcome?.ok) throw new Error(`expected a success, got ${JSON.stringify(outcome)}`);
  return outcome;
}

describe.skipIf(skipReason !== undefined)("Python Celery client → tq worker (SQS)", () => {
  beforeAll(async () => {
    sqs = await openPythonSqs();
    target = { sqs, queueNamePrefix: prefix, queue };
    app = createApp({
      name: "sqs-interop",
      broker: new SqsBroker(testBrokerOptions({ queueNamePrefix: prefix })),
      resultBackend: interopBackendUrl(),
      transports: [redisTransport],
      resultExtended: true,
      env: false,
    });
    const record = <T>(value: T): T => {
      ran.push(currentTask()?.id ?? "?");
      return value;
    };
    app.task("tasks.add", (x: number, y: number) => record(x + y), { params: ["x", "y"] });
    app.task("tasks.echo", (text: string, nested: unknown, big: number) => record({ text, nested, big }), {
      params: ["text", "nested", "big"],
    });
    worker = createWorker(app, { queues: [queue], concurrency: 2, hostname: HOSTNAME });
    await worker.start();
  }, 40_000);

  afterAll(async () => {
    await worker?.stop();
    await app?.close();
    await stopAll();
    await sqs?.close();
    await deleteQueuesUnder(prefix);
  }, 30_000);

  it("add.delay(2, 3) and add.apply_async((4, 5), countdown=2) from Python run on the tq worker", async () => {
    const [now, later] = await runPythonClient(target, [
      { task: "tasks.add", args: [2, 3] },
      { task: "tasks.add", args: [4, 5], options: { countdown: 2 } },
    ]);
    expect(succeeded(now)).toMatchObject({ state: "SUCCESS", result: 5 });
    expect(succeeded(later)).toMatchObject({ state: "SUCCESS", result: 9 });
    // The tq worker ran both (its hostname in Celery's extended result), the second not before its ETA.
    expect(now?.meta).toMatchObject({ worker: HOSTNAME, name: "tasks.add", args: [2, 3], queue });
    expect(later?.meta).toMatchObject({ worker: HOSTNAME, args: [4, 5] });
    expect(later?.elapsed).toBeGreaterThanOrEqual(1.9);
    expect(ran).toEqual(expect.arrayContaining([now?.id, later?.id]));
  });

  it("arguments (unicode, nested, a keyword, a big integer) reach the tq task unchanged", async () => {
    const text = 'héllo ✓ 🎉 中文 "quoted" \\ \u0000';
    const nested = { ключ: [1, 2.5, -0.001, null, true, false, { deep: ["x", [], {}] }] };
    const [echo] = await runPythonClient(target, [
      { task: "tasks.echo", args: [text, nested], kwargs: { big: 2 ** 53 - 1 } },
    ]);
    expect(succeeded(echo).result).toEqual({ text, nested, big: 2 ** 53 - 1 });
  });

  it("kombu's MessageBody is base64 of its JSON envelope, and tq's codec reads it", async () => {
    const [sent] = await runPythonClient(target, [
      { task: "tasks.add", args: [7, 7], options: { queue: rawQueue }, wait: false },
    ]);
    const client = new SQSClient(clientSettings());
    try {
      // Read straight from SQS, under the name kombu gave the queue.
      const { QueueUrl } = await client.send(
        new GetQueueUrlCommand({ QueueName: `${prefix}${rawQueue}`.replaceAll(".", "-") }),
      );
      const reply = await client.send(
        new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 5 }),
      );
      const body = reply.Messages?.[0]?.Body ?? "";
      expect(body).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
      const envelope = JSON.parse(Buffer.from(body, "base64").toString("utf8")) as Record<string, unknown>;
      expect(envelope).toMatchObject({
        "content-type": "application/json",
        "content-encoding": "utf-8",
        headers: { lang: "py", task: "tasks.add", id: sent?.id },
        properties: { body_encoding: "base64", delivery_info: { exchange: "", routing_key: rawQueue } },
      });
      const decoded = decodeMessageBody(body);
      expect(decoded.valid).toBe(true);
      expect(decoded.message.headers).toMatchObject({ task: "tasks.add", id: sent?.id });
      expect(JSON.parse(Buffer.from(decoded.message.body).toString("utf8"))).toEqual([
        [7, 7],
        {},
        { callbacks: null, errbacks: null, chain: null, chord: null },
      ]);
    } finally {
      client.destroy();
    }
  });

  it("the dotted queue names under the dotted prefix are the same SQS queues for kombu and tq", async () => {
    // kombu's entity_name(prefix + name), spelled out: "." → "-", on prefix and name alike. The raw
    // queue is the one the test above sent to (tests in a file run in order).
    const mapped = prefix.replaceAll(".", "-");
    // The tq worker consumed what kombu sent to that queue, and deleted every message it ran.
    await waitUntilDrained(prefix, [queue]);
    expect(await sqsQueuesUnder(prefix)).toEqual([
      `${mapped}interop-py2tq-raw`,
      `${mapped}interop-py2tq-tasks`,
    ]);
    if (sqs.gateway) {
      // kombu's producer published with botocore's query protocol (botocore 1.29 has no other for SQS).
      const served = sqs.gateway.requests.map((request) => `${request.action} ${request.userAgent}`);
      expect(served).toContainEqual(expect.stringMatching(/^SendMessage .*Botocore\//));
    }
  });
});
