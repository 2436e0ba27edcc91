"""The Python side of @tq/sqs's interop tests: a Celery 5 app on kombu's SQS transport.

Configured from the environment, so that each test file points it at its own SQS endpoint, queue name
prefix and queue:

    TQ_INTEROP_BROKER_URL        sqs://key:secret@host:port (kombu makes the endpoint http://host:port)
    TQ_INTEROP_TRANSPORT_OPTIONS JSON broker_transport_options: region, queue_name_prefix,
                                 wait_time_seconds, polling_interval, visibility_timeout...
    TQ_INTEROP_RESULT_BACKEND    result backend URL (Redis; SQS stores no results)
    TQ_INTEROP_QUEUE             default queue, which the worker consumes with -Q

Run a worker with, from this directory:

    /usr/bin/python3 -m celery -A celery_app worker --pool=solo -l info -Q <queue>
"""

import json
import os

from celery import Celery

BROKER_URL = os.environ.get("TQ_INTEROP_BROKER_URL", "sqs://test:test@127.0.0.1:9324")
TRANSPORT_OPTIONS = json.loads(os.environ.get("TQ_INTEROP_TRANSPORT_OPTIONS") or "{}")
RESULT_BACKEND = os.environ.get("TQ_INTEROP_RESULT_BACKEND", "redis://127.0.0.1:6379/12")
QUEUE = os.environ.get("TQ_INTEROP_QUEUE", "celery")

app = Celery("interop", broker=BROKER_URL, backend=RESULT_BACKEND)
app.conf.update(
    # is_secure False: kombu then builds http://host:port from the URL, as for ElasticMQ or LocalStack.
    broker_transport_options={"is_secure": False, **TRANSPORT_OPTIONS},
    # JSON only, as tq speaks.
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_accept_content=["json"],
    result_extended=True,
    task_default_queue=QUEUE,
    result_expires=600,
    worker_hijack_root_logger=True,
    # An endpoint that is down should fail the test fast instead of retrying for minutes.
    broker_connection_max_retries=3,
)


@app.task(name="tasks.add")
def add(x, y):
    return x + y


@app.task(name="tasks.echo")
def echo(*args, **kwargs):
    """Returns what it received, so a test can compare what tq sent with what Python decoded."""
    return {"args": list(args), "kwargs": kwargs}


@app.task(name="tasks.request", bind=True)
def request_info(self):
    """What the worker made of the message: its id, eta, expires, queue, and the worker that ran it."""
    request = self.request
    delivery_info = request.delivery_info or {}
    return {
        "id": request.id,
        "eta": request.eta,
        "expires": request.expires,
        "queue": delivery_info.get("routing_key"),
        "hostname": request.hostname,
    }
