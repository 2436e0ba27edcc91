// (d) Python Celery 5, when /usr/bin/python3 has it: celery_bench.py is the app (broker
// `pyamqp://` on the bench vhost, results in Redis), the producer (`apply_async` in a loop) and the
// round trips (`delay().get()`), each a Python process; the worker is `python3 -m celery worker` in a
// child process, with the Redis bench's pools (solo at concurrency 1, threads above).
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { WorkerChild } from "../child.mjs";
import { countKeys } from "./helpers.mjs";
import { measureRun } from "./measure.mjs";
import { QUEUES, settings } from "./settings.mjs";

const PYTHON = process.env.TQ_BENCH_PYTHON ?? "/usr/bin/python3";
const here = fileURLToPath(new URL(".", import.meta.url));
// No __pycache__ in the repository, and the bench URLs for every Python process.
const pythonEnv = {
  ...process.env,
  PYTHONDONTWRITEBYTECODE: "1",
  TQ_BENCH_AMQP_URL: settings.url,
  TQ_BENCH_REDIS_URL: settings.redisUrl,
};
const run = promisify(execFile);

/** Celery's pool at a concurrency, as in the Redis bench: solo at 1, threads above. */
export function celeryPool(concurrency) {
  return concurrency === 1 ? "solo" : "threads";
}

/** Why Celery cannot run here (no Celery 5, py-amqp or redis-py for /usr/bin/python3), or null. */
export async function celeryUnavailable() {
  try {
    const { stdout } = await run(PYTHON, ["-c", "import amqp, celery, redis; print(celery.__version__)"], {
      env: pythonEnv,
    });
    const major = Number(stdout.trim().split(".")[0]);
    return major === 5 ? null : `Celery 5 required, ${PYTHON} has Celery ${stdout.trim()}`;
  } catch (error) {
    const reason = (error.stderr?.trim() || error.message).split("\n").at(-1);
    return `\`${PYTHON} -c 'import amqp, celery, redis'\` failed: ${reason}`;
  }
}

/** Celery's version, for the header. */
export async function celeryVersion() {
  const { stdout } = await run(PYTHON, ["-c", "import celery; print(celery.__version__)"], {
    env: pythonEnv,
  });
  return stdout.trim();
}

async function python(args) {
  const { stdout } = await run(PYTHON, ["celery_bench.py", ...args], {
    cwd: here,
    env: pythonEnv,
    maxBuffer: 16 * 2 ** 20,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1));
}

/** Runs Celery at one concurrency, on `settings.celeryTasks` tasks. */
export async function runCelery(concurrency) {
  const pool = celeryPool(concurrency);
  const result = await measureRun({
    label: "celery",
    tasks: settings.celeryTasks,
    concurrency,
    enqueue: async (tasks) => (await python(["enqueue", String(tasks)])).enqueueMs,
    startWorker: ({ concurrency: slots, expect }) =>
      new WorkerChild(
        "celery worker",
        PYTHON,
        [
          ...[
            "-m",
            "celery",
            "-A",
            "celery_bench",
            "--quiet",
            "worker",
            `--pool=${pool}`,
            "-c",
            String(slots),
          ],
          ...[
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "warning",
            "-Q",
            QUEUES.celery,
          ],
        ],
        { cwd: here, env: { ...pythonEnv, BENCH_EXPECT: String(expect) } },
      ),
    countStored: () => countKeys("celery-task-meta-*"),
    roundTrips: async () =>
      (await python(["roundtrip", String(settings.roundTrips), String(settings.warmup)])).latenciesMs,
  });
  return { ...result, pool };
}
