"""Celery side of `pnpm bench mongo`: the app, the no-op task, and the producer commands.

Run by bench/mongo/celery.mjs, never by hand. The same roles as bench/amqp/celery_bench.py, with the
MongoDB stand-in as the broker (kombu's MongoDB transport) and as the result backend (Celery's
MongoDB backend), both through pymongo, each in a database of its own:
  * the worker, started as `python3 -m celery -A celery_bench worker ...`: it prints one JSON line
    {"type": "done", ...} on stdout once it has finished BENCH_EXPECT tasks (results stored);
  * `python3 celery_bench.py enqueue N`: sends N tasks with apply_async, prints {"enqueueMs": ...};
  * `python3 celery_bench.py roundtrip N WARMUP BUDGET_MS`: sequential delay().get(), N of them or as
    many as fit in BUDGET_MS after WARMUP untimed ones, prints {"latenciesMs": [...]};
  * `python3 celery_bench.py probe`: one message through kombu and back, one result stored and read,
    prints {"ok": true} or {"ok": false, "error": "..."}.
"""

import json
import os
import sys
import threading
import time
import uuid

from celery import Celery
from celery.signals import task_postrun, task_prerun

BROKER = os.environ["TQ_BENCH_MONGO_BROKER_URL"]
BACKEND = os.environ["TQ_BENCH_MONGO_BACKEND_URL"]
QUEUE = "bench.celery"

app = Celery("celery_bench", broker=BROKER, backend=BACKEND)
app.conf.update(
    task_default_queue=QUEUE,
    # Remote control would be a fanout exchange, which kombu's MongoDB transport serves with a tailable
    # cursor on a capped collection; the bench needs none of it (tq's worker has no such cost here).
    worker_enable_remote_control=False,
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


def _enqueue(n):
    start = time.perf_counter()
    for i in range(n):
        noop.apply_async((i,))
    print(json.dumps({"enqueueMs": (time.perf_counter() - start) * 1000}))


def _roundtrip(n, warmup, budget_ms):
    for i in range(warmup):
        noop.delay(i).get(timeout=30)
    latencies = []
    until = time.perf_counter() + budget_ms / 1000
    while len(latencies) < n and time.perf_counter() < until:
        start = time.perf_counter()
        noop.delay(warmup + len(latencies)).get(timeout=30)
        latencies.append((time.perf_counter() - start) * 1000)
    print(json.dumps({"latenciesMs": latencies}))


def _probe():
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)
            queue = connection.SimpleQueue("bench.probe")
            queue.put({"probe": True})
            queue.get(timeout=10).ack()
            queue.close()
        task_id = str(uuid.uuid4())
        app.backend.store_result(task_id, None, "SUCCESS")
        app.AsyncResult(task_id).get(timeout=10)
        print(json.dumps({"ok": True}))
    except Exception as error:  # the reason is the result
        print(json.dumps({"ok": False, "error": f"{type(error).__name__}: {error}"}))


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "enqueue":
        _enqueue(int(sys.argv[2]))
    elif command == "roundtrip":
        _roundtrip(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    elif command == "probe":
        _probe()
    else:
        sys.exit(f"unknown command {command}")
