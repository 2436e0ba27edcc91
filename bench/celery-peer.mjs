// Python Celery as a peer of the SQS and MongoDB benches: each transport's celery_bench.py is the app,
// the producer (`apply_async` in a loop), the round trips (`delay().get()`) and a probe, each a Python
// process; the worker is `python3 -m celery worker` in a child process with the Redis bench's pools
// (solo at concurrency 1, threads above). The same commands as redis/celery.mjs and amqp/celery.mjs.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { WorkerChild } from "./child.mjs";

/** The Python whose Celery is measured. */
export const PYTHON = process.env.TQ_BENCH_PYTHON ?? "/usr/bin/python3";
const run = promisify(execFile);

/** Celery's pool at a concurrency, as in the Redis bench: solo at 1, threads above. */
export function celeryPool(concurrency) {
  return concurrency === 1 ? "solo" : "threads";
}

/**
 * The Python side of one transport: `dirUrl` holds its celery_bench.py; `env()` gives the variables
 * every Python process of it needs (read when a process starts, so they may name a server started late).
 */
export function celeryPeer(dirUrl, env) {
  const cwd = fileURLToPath(dirUrl);
  // No __pycache__ in the repository.
  const pythonEnv = () => ({ ...process.env, PYTHONDONTWRITEBYTECODE: "1", ...env() });

  /** Runs `celery_bench.py args…`; resolves with the JSON object it printed last. */
  async function python(args, timeoutMs = 600_000) {
    const { stdout } = await run(PYTHON, ["celery_bench.py", ...args], {
      cwd,
      env: pythonEnv(),
      maxBuffer: 16 * 2 ** 20,
      timeout: timeoutMs,
    });
    return JSON.parse(stdout.trim().split("\n").at(-1));
  }

  return {
    python,

    /** Why Celery 5 with these modules cannot be imported here, or null. */
    async unavailable(modules) {
      const imports = ["celery", ...modules].join(", ");
      try {
        const { stdout } = await run(PYTHON, ["-c", `import ${imports}; print(celery.__version__)`], {
          env: pythonEnv(),
        });
        const major = Number(stdout.trim().split(".")[0]);
        return major === 5 ? null : `Celery 5 required, ${PYTHON} has Celery ${stdout.trim()}`;
      } catch (error) {
        const reason = (error.stderr?.trim() || error.message).split("\n").at(-1);
        return `\`${PYTHON} -c 'import ${imports}'\` failed: ${reason}`;
      }
    },

    /** Celery's version, for the header; null when it cannot be imported. */
    async version() {
      try {
        const { stdout } = await run(PYTHON, ["-c", "import celery; print(celery.__version__)"], {
          env: pythonEnv(),
        });
        return stdout.trim();
      } catch {
        return null;
      }
    },

    /**
     * `celery_bench.py probe`: one task sent, run by an in-process worker and its result read back
     * within `timeoutMs`. Resolves null when that worked, else the reason (the last line of the error).
     */
    async probeFails(timeoutMs = 30_000) {
      try {
        const reply = await python(["probe"], timeoutMs);
        return reply.ok ? null : reply.error;
      } catch (error) {
        if (error.killed) return `the probe did not finish within ${timeoutMs / 1000} s`;
        return (error.stderr?.trim() || error.message).split("\n").at(-1);
      }
    },

    /** Starts `python3 -m celery worker` on `queue` with the pool of the concurrency. */
    startWorker({ concurrency, expect, queue }) {
      return new WorkerChild(
        "celery worker",
        PYTHON,
        [
          ...["-m", "celery", "-A", "celery_bench", "--quiet", "worker"],
          ...[`--pool=${celeryPool(concurrency)}`, "-c", String(concurrency)],
          ...["--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning", "-Q", queue],
        ],
        { cwd, env: { ...pythonEnv(), BENCH_EXPECT: String(expect) } },
      );
    },
  };
}
