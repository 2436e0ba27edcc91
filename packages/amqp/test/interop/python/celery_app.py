"""The Python side of tq's AMQP interop tests: a Celery 5 app whose tasks mirror tq's test app.

Configured from the environment so that each test file points it at RabbitMQ with a queue of its own:

    TQ_INTEROP_BROKER_URL     broker URL (default amqp://guest:guest@127.0.0.1:5672//)
    TQ_INTEROP_RESULT_BACKEND result backend URL: rpc:// or redis://127.0.0.1:6379/13 (default rpc://)
    TQ_INTEROP_QUEUE          default queue, which the worker consumes with -Q (default "celery")
    TQ_INTEROP_MAX_PRIORITY   task_queue_max_priority, the queue's x-max-priority (default: none)

Run a worker with, from this directory:

    /usr/bin/python3 -m celery -A celery_app worker --pool=solo -l info -Q <queue>
"""

import os

from celery import Celery

BROKER_URL = os.environ.get("TQ_INTEROP_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
RESULT_BACKEND = os.environ.get("TQ_INTEROP_RESULT_BACKEND", "rpc://")
QUEUE = os.environ.get("TQ_INTEROP_QUEUE", "celery")
MAX_PRIORITY = os.environ.get("TQ_INTEROP_MAX_PRIORITY")

app = Celery("interop", broker=BROKER_URL, backend=RESULT_BACKEND)
app.conf.update(
    # JSON only, as tq speaks: a pickle message from either side must be refused, not run.
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_accept_content=["json"],
    # name/args/kwargs/worker/queue in result documents, which tq reads too.
    result_extended=True,
    # The queue of this test run; Celery also declares a direct exchange of the same name bound to it.
    task_default_queue=QUEUE,
    # Results outlive the test run only by minutes.
    result_expires=600,
    worker_hijack_root_logger=True,
    # Nothing but the test's queue on the shared RabbitMQ: no pidbox queue, no celery.pidbox exchange.
    worker_enable_remote_control=False,
    # A RabbitMQ that is down should fail the test fast instead of retrying for minutes.
    broker_connection_max_retries=3,
)
if MAX_PRIORITY:
    # Declares the queue with x-max-priority: its arguments must equal those tq declares it with, or
    # RabbitMQ closes the channel with PRECONDITION_FAILED.
    app.conf.task_queue_max_priority = int(MAX_PRIORITY)


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


@app.task(name="tasks.request", bind=True)
def request_info(self):
    """What the worker made of the message's headers and properties, for the option and header tests."""
    request = self.request
    delivery_info = request.delivery_info or {}
    return {
        "id": request.id,
        "task": request.task,
        "shadow": request.shadow,
        "eta": request.eta,
        "expires": request.expires,
        "retries": request.retries,
        "timelimit": None if request.timelimit is None else list(request.timelimit),
        "root_id": request.root_id,
        "parent_id": request.parent_id,
        "group": request.group,
        "group_index": request.group_index,
        "origin": request.origin,
        "ignore_result": request.ignore_result,
        "reply_to": request.reply_to,
        "correlation_id": request.correlation_id,
        "queue": delivery_info.get("routing_key"),
        "exchange": delivery_info.get("exchange"),
        "priority": delivery_info.get("priority"),
    }
