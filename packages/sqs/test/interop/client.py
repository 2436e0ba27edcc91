"""A Celery 5 client on kombu's SQS transport for @tq/sqs's interop tests.

Usage: client.py '<JSON list of calls>'. Each call is an object:

    {"task": "tasks.add", "args": [2, 3], "kwargs": {}, "options": {"countdown": 2}, "timeout": 20}

(`"wait": false` sends without waiting: the outcome then only has the id.)

A call naming a task of celery_app goes out through that task object, as application code sends it:
`add.delay(2, 3)` without options, `add.apply_async((2, 3), countdown=2)` with them; any other name
through `app.send_task`. All calls are sent first, then each is awaited with `AsyncResult.get` from the
result backend (Redis). One JSON line per call goes to stdout:

    {"id": ..., "ok": true, "state": "SUCCESS", "result": 5, "elapsed": 2.1, "meta": {...}}
    {"id": ..., "ok": false, "state": "FAILURE", "exc_class": "builtins.TypeError", "message": "..."}
"""

import json
import sys
import time

from celery_app import app


def _send(call):
    args = call.get("args", [])
    kwargs = call.get("kwargs", {})
    options = call.get("options") or {}
    task = app.tasks.get(call["task"])
    if task is None:
        return app.send_task(call["task"], args=args, kwargs=kwargs, **options)
    if not options:
        return task.delay(*args, **kwargs)
    return task.apply_async(args, kwargs, **options)


def _meta(result):
    backend = result.backend
    raw = backend.get(backend.get_key_for_task(result.id))
    return None if raw is None else json.loads(raw)


def _outcome(call, result, sent_at):
    if call.get("wait", True) is False:
        return {"id": result.id, "ok": True, "state": "SENT", "elapsed": 0, "meta": None}
    try:
        value = result.get(timeout=call.get("timeout", 20), propagate=True, interval=0.1)
    except Exception as error:  # every failure is data here: the test asserts on it
        cls = type(error)
        return {
            "id": result.id,
            "ok": False,
            "state": result.state,
            "exc_class": f"{cls.__module__}.{cls.__qualname__}",
            "message": str(error),
            "elapsed": time.monotonic() - sent_at,
            "meta": _meta(result),
        }
    return {
        "id": result.id,
        "ok": True,
        "state": result.state,
        "result": value,
        "elapsed": time.monotonic() - sent_at,
        "meta": _meta(result),
    }


def main(argv):
    calls = json.loads(argv[1])
    sent = []
    for call in calls:
        sent_at = time.monotonic()
        sent.append((call, _send(call), sent_at))
    for call, result, sent_at in sent:
        print(json.dumps(_outcome(call, result, sent_at)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
