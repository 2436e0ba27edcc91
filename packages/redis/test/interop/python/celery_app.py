"""The Python side of tq's interop tests: a Celery 5 app whose tasks mirror tq's test app.

Configured from the environment so that each test file can point it at its own Redis DB and queue:

    TQ_INTEROP_BROKER_URL     broker URL (default redis://127.0.0.1:6379/11)
    TQ_INTEROP_RESULT_BACKEND result backend URL (default: the broker URL)
    TQ_INTEROP_QUEUE          default queue, which the worker consumes with -Q (default "celery")
    TQ_INTEROP_VISIBILITY_TIMEOUT  broker visibility_timeout in seconds (default: kombu's, 3600)

Run a worker with, from this directory:

    /usr/bin/python3 -m celery -A celery_app worker --pool=solo -l info -Q <queue>
"""

import os
import time

import redis
from celery import Celery

BROKER_URL = os.environ.get("TQ_INTEROP_BROKER_URL", "redis://127.0.0.1:6379/11")
RESULT_BACKEND = os.environ.get("TQ_INTEROP_RESULT_BACKEND", BROKER_URL)
QUEUE = os.environ.get("TQ_INTEROP_QUEUE", "celery")
VISIBILITY_TIMEOUT = os.environ.get("TQ_INTEROP_VISIBILITY_TIMEOUT")

_journal = None

app = Celery("interop", broker=BROKER_URL, backend=RESULT_BACKEND)
app.conf.update(
    # JSON only, as tq speaks: a pickle message from either side must be refused, not run.
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_accept_content=["json"],
    # name/args/kwargs/worker/queue in result documents, which tq reads too.
    result_extended=True,
    task_default_queue=QUEUE,
    # Results outlive the test run only by minutes.
    result_expires=600,
    # The tests run workers with -l warning/info; keep the test's own output readable.
    worker_hijack_root_logger=True,
    # A test Redis that is down should fail the test fast instead of retrying for minutes.
    broker_connection_max_retries=3,
)
if VISIBILITY_TIMEOUT:
    # Short in the crash-recovery tests, so that this worker restores a dead tq worker's message soon.
    app.conf.broker_transport_options = {"visibility_timeout": float(VISIBILITY_TIMEOUT)}


@app.task(name="tasks.add")
def add(x, y):
    return x + y


@app.task(name="tasks.multiply")
def multiply(x, y):
    return x * y


@app.task(name="tasks.fail")
def fail(message="bad input"):
    raise ValueError(message)


@app.task(name="tasks.echo")
def echo(*args, **kwargs):
    """Returns what it received, so a test can compare what tq sent with what Python decoded."""
    return {"args": list(args), "kwargs": kwargs}


@app.task(name="tasks.journal", bind=True)
def journal(self, n, key, sleep_ms=0):
    """Appends `python:<n>` to the list `key` on the broker's Redis, sleeps, and names the runtime.

    A test sharing one queue between tq and Python workers counts the list to prove every call ran once.
    """
    global _journal
    if _journal is None:
        _journal = redis.Redis.from_url(BROKER_URL)
    _journal.rpush(key, f"python:{n}")
    if sleep_ms:
        time.sleep(sleep_ms / 1000)
    return {"n": n, "runtime": "python", "worker": self.request.hostname}


@app.task(name="tasks.request", bind=True)
def request_info(self):
    """What the worker made of the message: its eta, expires and queue, for the option tests."""
    request = self.request
    return {
        "eta": request.eta,
        "expires": request.expires,
        "queue": (request.delivery_info or {}).get("routing_key"),
        "priority": (request.delivery_info or {}).get("priority"),
    }


@app.task(name="tasks.hold", bind=True, acks_late=True)
def hold(self, key, seconds):
    """Journals `python:<redelivered>` to `key`, then sleeps `seconds` unless this is a redelivery.

    acks_late keeps the message in kombu's `unacked` hash while it runs, so a worker killed meanwhile
    leaves it there for another worker, tq or Python, to restore once the visibility timeout passed.
    """
    global _journal
    if _journal is None:
        _journal = redis.Redis.from_url(BROKER_URL)
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    _journal.rpush(key, f"python:{int(redelivered)}")
    if not redelivered:
        time.sleep(seconds)
    return {"runtime": "python", "redelivered": redelivered}
