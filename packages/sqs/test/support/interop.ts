/**
 * The Python side of the SQS interop tests: Debian's Celery 5.2 / kombu 5.2 (SQS transport on boto3 and
 * pycurl) run from test/interop with /usr/bin/python3, pointed at the test run's SQS endpoint. On
 * fauxqs, which serves SQS's JSON protocol only, Python goes through the query-protocol gateway
 * (query-gateway.ts); a real endpoint (TQ_TEST_SQS_ENDPOINT: AWS, LocalStack) serves both protocols
 * and is used directly, with the AWS credentials of the environment.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DeleteQueueCommand, ListQueuesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { ManagedProcess, runCommand } from "@tq/test-processes";
import { entityName } from "../../src/queue-names.js";
import { waitFor } from "./collect.js";
import { type QueryGateway, startQueryGateway } from "./query-gateway.js";
import { clientSettings, onFauxqs, RawSqs, sqsEndpoint } from "./sqs.js";

/** The interpreter that has python3-celery, python3-boto3, python3-pycurl and python3-redis. */
export const PYTHON = "/usr/bin/python3";
/** Where celery_app.py and client.py live. */
export const PYTHON_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../interop");

/**
 * Why the interop tests cannot run here, or undefined when they can. Celery's SQS transport needs
 * boto3 (its producer and queue management) and pycurl (its consumer); the results go through Redis.
 */
export function pythonUnavailable(): string | undefined {
  const modules = "celery, boto3, pycurl, redis, kombu.transport.SQS";
  const probe = spawnSync(PYTHON, ["-c", `import ${modules}`], { encoding: "utf8" });
  if (probe.status === 0) return undefined;
  const why = probe.error?.message ?? probe.stderr.trim().split("\n").pop() ?? `exit ${probe.status}`;
  return `${PYTHON} cannot import ${modules} (${why}); apt-get install python3-celery python3-boto3 python3-pycurl python3-redis`;
}

/** The result backend both sides share: Redis DB 12 of the test Redis (`TQ_TEST_REDIS_URL`). */
export function interopBackendUrl(): string {
  const url = new URL(process.env.TQ_TEST_REDIS_URL ?? "redis://127.0.0.1:6379");
  url.pathname = "/12";
  return url.toString();
}

/** How the Python side reaches SQS: a broker URL and the environment to run it with. */
export interface PythonSqs {
  /** `sqs://key:secret@host:port` as Celery's `broker_url`. */
  brokerUrl: string;
  /** AWS settings for the child (credentials of a real endpoint). */
  env: Record<string, string>;
  /** The query-protocol gateway in front of fauxqs, undefined on a real endpoint. */
  gateway: QueryGateway | undefined;
  close(): Promise<void>;
}

/** Opens the way to this run's SQS endpoint for Python; `close()` it in `afterAll`. */
export async function openPythonSqs(): Promise<PythonSqs> {
  const region = clientSettings().region ?? "us-east-1";
  if (onFauxqs()) {
    const gateway = await startQueryGateway(sqsEndpoint());
    return {
      brokerUrl: `sqs://test:test@${new URL(gateway.url).host}`,
      env: { AWS_DEFAULT_REGION: region },
      gateway,
      close: () => gateway.close(),
    };
  }
  const endpoint = new URL(sqsEndpoint());
  const env: Record<string, string> = { AWS_DEFAULT_REGION: region };
  for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"]) {
    const value = process.env[name];
    if (value) env[name] = value;
  }
  return { brokerUrl: `sqs://${endpoint.host}`, env, gateway: undefined, close: async () => {} };
}

/** Where one Python worker or client connects. */
export interface PythonTarget {
  sqs: PythonSqs;
  /** Celery's `queue_name_prefix` transport option. */
  queueNamePrefix: string;
  /** The default queue (`task_default_queue`). */
  queue: string;
}

function pythonEnv(target: PythonTarget): Record<string, string> {
  const secure = !onFauxqs() && new URL(sqsEndpoint()).protocol === "https:";
  return {
    ...target.sqs.env,
    PYTHONPATH: PYTHON_DIR,
    PYTHONUNBUFFERED: "1",
    PYTHONIOENCODING: "utf-8",
    TQ_INTEROP_BROKER_URL: target.sqs.brokerUrl,
    TQ_INTEROP_RESULT_BACKEND: interopBackendUrl(),
    TQ_INTEROP_QUEUE: target.queue,
    // Short long polls (kombu's default is 10 s) so that the worker stops within a second.
    TQ_INTEROP_TRANSPORT_OPTIONS: JSON.stringify({
      region: clientSettings().region ?? "us-east-1",
      queue_name_prefix: target.queueNamePrefix,
      wait_time_seconds: 1,
      polling_interval: 0.1,
      is_secure: secure,
    }),
  };
}

/**
 * Starts `celery -A celery_app worker --pool=solo` (kombu's SQS transport) on `queues`, and resolves
 * once it printed "ready.".
 */
export async function startPythonWorker(
  target: PythonTarget,
  options: { queues?: readonly string[]; hostname?: string } = {},
): Promise<ManagedProcess> {
  const args = ["-m", "celery", "-A", "celery_app", "worker", "--pool=solo", "-l", "info"];
  args.push("--without-gossip", "--without-mingle", "--without-heartbeat");
  args.push("-Q", (options.queues ?? [target.queue]).join(","), "-n", options.hostname ?? "py-sqs@test");
  const worker = new ManagedProcess("celery worker", PYTHON, args, {
    cwd: PYTHON_DIR,
    env: pythonEnv(target),
  });
  await worker.waitForOutput(/ ready\.\s*$/m, 30_000);
  return worker;
}

/** One call for client.py: `add.delay(…)`, `add.apply_async(…, **options)`, or `app.send_task`. */
export interface PythonCall {
  task: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  /** apply_async / send_task options: queue, countdown, task_id… */
  options?: Record<string, unknown>;
  /** Seconds `AsyncResult.get` waits. @default 20 */
  timeout?: number;
  /** false: send only, do not wait for a result. @default true */
  wait?: boolean;
}

/** What client.py read back for one call. */
export interface PythonOutcome {
  id: string;
  ok: boolean;
  state: string;
  result?: unknown;
  exc_class?: string;
  message?: string;
  /** Seconds from sending to the result. */
  elapsed: number;
  /** The result document as stored in Redis. */
  meta: Record<string, unknown> | null;
}

/** Runs client.py: sends every call, then waits for each; one outcome per call, in order. */
export async function runPythonClient(
  target: PythonTarget,
  calls: readonly PythonCall[],
  timeoutMs = 30_000,
): Promise<PythonOutcome[]> {
  const run = await runCommand(PYTHON, [path.join(PYTHON_DIR, "client.py"), JSON.stringify(calls)], {
    cwd: PYTHON_DIR,
    env: pythonEnv(target),
    timeoutMs,
  });
  if (run.status !== 0) {
    throw new Error(
      `client.py exited with ${run.status}${run.timedOut ? " (timed out)" : ""}:\n${run.stderr}\n${run.stdout}`,
    );
  }
  return run.stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as PythonOutcome);
}

/** The URLs of the queues that exist under a (tq/kombu) queue name prefix. */
async function queueUrlsUnder(client: SQSClient, queueNamePrefix: string): Promise<string[]> {
  const reply = await client.send(new ListQueuesCommand({ QueueNamePrefix: entityName(queueNamePrefix) }));
  return reply.QueueUrls ?? [];
}

/** The SQS names of the queues that exist under a (tq/kombu) queue name prefix, sorted. */
export async function sqsQueuesUnder(queueNamePrefix: string): Promise<string[]> {
  const client = new SQSClient(clientSettings());
  try {
    const urls = await queueUrlsUnder(client, queueNamePrefix);
    return urls.map((url) => url.split("/").pop() ?? url).sort();
  } finally {
    client.destroy();
  }
}

/** Deletes every queue under a queue name prefix (each test file owns its prefix). */
export async function deleteQueuesUnder(queueNamePrefix: string): Promise<void> {
  const client = new SQSClient(clientSettings());
  try {
    const urls = await queueUrlsUnder(client, queueNamePrefix);
    await Promise.allSettled(urls.map((url) => client.send(new DeleteQueueCommand({ QueueUrl: url }))));
  } finally {
    client.destroy();
  }
}

/** Resolves once the queues (tq names under the prefix) hold no message, ready or in flight: all acked. */
export async function waitUntilDrained(queueNamePrefix: string, queues: readonly string[]): Promise<void> {
  const raw = new RawSqs(queueNamePrefix);
  try {
    await waitFor(
      async () => {
        const counts = await Promise.all(
          queues.flatMap((queue) => [raw.readyCount(queue), raw.inFlightCount(queue)]),
        );
        return counts.every((count) => count === 0);
      },
      10_000,
      `${queues.join(", ")} drained (every message deleted by its consumer)`,
    );
  } finally {
    raw.close();
  }
}
