"""Celery side of `pnpm bench amqp`: the app, the no-op task, and the producer commands.

Run by bench/amqp/celery.mjs, never by hand. The same roles as bench/redis/celery_bench.py, with
RabbitMQ (py-amqp, `pyamqp://`) as the broker and Redis as the result backend:
  * the worker, started as `python3 -m celery -A celery_bench worker ...`: it prints one JSON line
    {"type": "done", ...} on stdout once it has finished BENCH_EXPECT tasks (results stored);
  * `python3 celery_bench.py enqueue N`: sends N tasks with apply_async, prints {"enqueueMs": ...};
  * `python3 celery_bench.py roundtrip N WARMUP`: N sequential delay().get(), prints {"latenciesMs": [...]}.
"""

import json
import os
import sys
import threading
import time

from celery import Celery
from celery.concurrency.thread import TaskPool as ThreadTaskPool
from celery.signals import task_postrun, task_prerun, worker_ready

BROKER = os.environ.get("TQ_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/tq-bench")
BACKEND = os.environ.get("TQ_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
QUEUE = "bench.celery"

# kombu's py-amqp transport (`pyamqp://`); the URL's path is the vhost, as for tq.
app = Celery(
    "celery_bench",
    broker="py" + BROKER if BROKER.startswith("amqp://") else BROKER,
    backend=BACKEND,
)
app.conf.update(
    task_default_queue=QUEUE,
    # The worker's stdout carries the "done" line; Celery would otherwise send prints to its logger.
    worker_redirect_stdouts=False,
    broker_connection_retry_on_startup=True,
    accept_content=["json"],
    task_serializer="json",
    result_serializer="json",
)


@app.task(name="bench.noop")
def noop(i):
    return None


# Worker-side progress: the time the first task began, and the time the BENCH_EXPECT-th result was
# stored (task_postrun fires after the result is written). Threads pool: guarded by a lock.
_lock = threading.Lock()
_state = {"first": None, "count": 0, "expect": int(os.environ.get("BENCH_EXPECT", "0"))}


@task_prerun.connect
def _on_prerun(**_kwargs):
    if _state["first"] is None:
        with _lock:
            if _state["first"] is None:
                _state["first"] = time.time() * 1000


@task_postrun.connect
def _on_postrun(**_kwargs):
    with _lock:
        _state["count"] += 1
        if _state["count"] != _state["expect"]:
            return
        line = {"type": "done", "firstMs": _state["first"], "lastMs": time.time() * 1000}
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


@worker_ready.connect
def _wake_threads_pool(sender=None, **_kwargs):
    """The workaround of celery/celery#6941 for the threads pool on py-amqp.

    Acks made in pool threads are only sent once the consumer's event loop wakes up, which without a
    timer takes seconds: at concurrency 10 (prefetch 40) the worker drained 30-100 tasks/s here and
    sometimes stalled. A no-op timer every 10 ms wakes the loop, as the issue's workaround does.
    """
    if isinstance(getattr(sender, "pool", None), ThreadTaskPool):
        sender.timer.call_repeatedly(0.01, lambda: None)


def _enqueue(n):
    start = time.perf_counter()
    for i in range(n):
        noop.apply_async((i,))
    print(json.dumps({"enqueueMs": (time.perf_counter() - start) * 1000}))


def _roundtrip(n, warmup):
    latencies = []
    for i in range(n + warmup):
        start = time.perf_counter()
        noop.delay(i).get(timeout=30)
        if i >= warmup:
            latencies.append((time.perf_counter() - start) * 1000)
    print(json.dumps({"latenciesMs": latencies}))


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "enqueue":
        _enqueue(int(sys.argv[2]))
    elif command == "roundtrip":
        _roundtrip(int(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit(f"unknown command {command}")
