/**
 * A tq client (createApp on SqsBroker, @aws-sdk v3) sends tasks that a Python Celery 5.2 worker runs
 * (`celery worker --pool=solo`, kombu 5.2's SQS transport: pycurl long polls, boto3 acks); the worker
 * stores the results in Redis DB 12, where tq reads them.
 */
import { type App, createApp } from "@tq/core";
import { redisTransport } from "@tq/redis";
import { stopAll } from "@tq/test-processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqsBroker } from "../../src/index.js";
import {
  deleteQueuesUnder,
  interopBackendUrl,
  openPythonSqs,
  type PythonSqs,
  type PythonTarget,
  pythonUnavailable,
  runPythonClient,
  sqsQueuesUnder,
  startPythonWorker,
  waitUntilDrained,
} from "../support/interop.js";
import { testBrokerOptions, uniqueName } from "../support/sqs.js";

const skipReason = pythonUnavailable();
if (skipReason) console.warn(`[@tq/sqs interop] skipped: ${skipReason}`);

// Dots in the prefix and the queues: kombu and tq must both turn them into "-", and keep ".fifo".
const prefix = `${uniqueName("tq2py")}.`;
const queue = "interop.tq2py.tasks";
const fifoQueue = "interop.tq2py.jobs.fifo";
const HOSTNAME = "py-sqs-interop@test";

let sqs: PythonSqs;
let target: PythonTarget;
let app: App;

describe.skipIf(skipReason !== undefined)("tq client → Python Celery worker (SQS)", () => {
  beforeAll(async () => {
    sqs = await openPythonSqs();
    target = { sqs, queueNamePrefix: prefix, queue };
    await startPythonWorker(target, { queues: [queue, fifoQueue], hostname: HOSTNAME });
    app = createApp({
      name: "sqs-interop-client",
      broker: new SqsBroker(testBrokerOptions({ queueNamePrefix: prefix })),
      resultBackend: interopBackendUrl(),
      transports: [redisTransport],
      taskDefaultQueue: queue,
      env: false,
    });
  }, 40_000);

  afterAll(async () => {
    await app?.close();
    await stopAll();
    await sqs?.close();
    await deleteQueuesUnder(prefix);
  }, 30_000);

  it("the Python fixtures work Python to Python (the baseline for the tests below)", async () => {
    const [sum] = await runPythonClient(target, [{ task: "tasks.add", args: [2, 3] }]);
    expect(sum).toMatchObject({ ok: true, result: 5, meta: { worker: HOSTNAME } });
  });

  it("app.sendTask('tasks.add', [2, 3]) runs on the Python worker and tq reads 5", async () => {
    const result = app.sendTask("tasks.add", [2, 3]);
    expect(await result.get({ timeout: 15 })).toBe(5);
    await expect(result.state()).resolves.toBe("SUCCESS");
  });

  it("a tq countdown is honoured by the Python worker, which sees the queue tq named", async () => {
    const sentAt = Date.now();
    const result = app.sendTask("tasks.request", [], {}, { countdown: 1 });
    const info = (await result.get({ timeout: 15 })) as Record<string, unknown>;
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(900);
    expect(Date.parse(String(info.eta)) - sentAt).toBeGreaterThanOrEqual(900);
    expect(info).toMatchObject({ id: result.id, queue, hostname: HOSTNAME });
  });

  it("unicode and nested args and kwargs reach Python and come back unchanged", async () => {
    const args = [
      'héllo ✓ 🎉 中文 "quoted" \\',
      { nested: [1, 2.5, null, true, { deep: ["x", [], {}] }] },
      2 ** 53 - 1,
    ];
    const kwargs = { ключ: "значение", list: [false, -0.5, "\u0000"], empty: {} };
    expect(await app.sendTask("tasks.echo", args, kwargs).get({ timeout: 15 })).toEqual({ args, kwargs });
  });

  it("a task tq sends to a FIFO queue runs on the Python worker consuming it", async () => {
    const results = [1, 2, 3].map((n) => app.sendTask("tasks.add", [n, 10], {}, { queue: fifoQueue }));
    expect(await Promise.all(results.map((result) => result.get({ timeout: 15 })))).toEqual([11, 12, 13]);
  });

  it("the dotted queue names under the dotted prefix are the same SQS queues for tq and kombu", async () => {
    // kombu's entity_name(prefix + name), spelled out: "." → "-" except a ".fifo" suffix.
    const mapped = prefix.replaceAll(".", "-");
    expect(await sqsQueuesUnder(prefix)).toEqual([
      `${mapped}interop-tq2py-jobs.fifo`,
      `${mapped}interop-tq2py-tasks`,
    ]);
    // The Python worker deleted every message tq sent it.
    await waitUntilDrained(prefix, [queue, fifoQueue]);
    if (sqs.gateway) {
      // kombu's consumer really long-polled through SQS's query protocol on pycurl, and acked with botocore.
      const served = sqs.gateway.requests.map((request) => `${request.action} ${request.userAgent}`);
      expect(served).toContainEqual(expect.stringMatching(/^ReceiveMessage .*pycurl/));
      expect(served).toContainEqual(expect.stringMatching(/^DeleteMessage .*Botocore\//));
    }
  });
});
