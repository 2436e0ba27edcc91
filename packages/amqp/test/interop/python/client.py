"""A Celery 5 client for tq's AMQP interop tests: sends tasks by name and prints what Python reads back.

Usage: client.py '<JSON list of calls>'. Each call is an object:

    {"task": "tasks.add", "args": [2, 8], "kwargs": {}, "options": {...}, "timeout": 20, "wait": true}

`options` go to `send_task` (queue, countdown, priority, expires, task_id, headers...); an `eta` option
is an ISO-8601 string. All calls are sent first, then each is awaited with `AsyncResult.get`
(propagate=True), so a batch costs one Python start-up; a call with "wait": false is only sent (its
outcome is {"id": ..., "ok": null, "state": "SENT"}), e.g. when its reply goes to a queue of the test's. The first stdout line says where the replies
of an rpc:// backend go; then one JSON line per call:

    {"reply_to": "<oid>", "reply_queue": "<oid>"}
    {"id": ..., "ok": true, "state": "SUCCESS", "result": 10, "elapsed": 0.3, "meta": {...}}
    {"id": ..., "ok": false, "state": "FAILURE", "exc_class": "builtins.TypeError",
     "exc_type": "TypeError", "exc_module": "builtins", "exc_args": [...], "message": "...", ...}

`exc_class` is the class Python raised: the real test of how a stored failure is rebuilt in Python.
`meta` is the stored document of a Redis backend; rpc:// stores nothing, so there it is null.
"""

import datetime
import json
import sys
import time

from celery_app import app


def _options(raw):
    options = dict(raw or {})
    if isinstance(options.get("eta"), str):
        options["eta"] = datetime.datetime.fromisoformat(options["eta"])
    return options


def _meta(result):
    # The document exactly as a key-value backend stored it: get_task_meta() would return it decoded,
    # with a failure turned into an exception object. rpc:// keeps no document.
    backend = result.backend
    if not hasattr(backend, "get_key_for_task"):
        return None
    raw = backend.get(backend.get_key_for_task(result.id))
    return None if raw is None else json.loads(raw)


def _outcome(call, result, sent_at):
    timeout = call.get("timeout", 20)
    try:
        value = result.get(timeout=timeout, propagate=True, interval=0.1)
    except Exception as error:  # every failure is data here: the test asserts on it
        cls = type(error)
        return {
            "id": result.id,
            "ok": False,
            "state": result.state,
            "exc_class": f"{cls.__module__}.{cls.__qualname__}",
            "exc_type": cls.__qualname__,
            "exc_module": cls.__module__,
            "is_builtin_exception": cls.__module__ == "builtins",
            "exc_args": json.loads(json.dumps(list(error.args), default=repr)),
            "message": str(error),
            "traceback": result.traceback,
            "elapsed": time.monotonic() - sent_at,
            "meta": _meta(result),
        }
    date_done = result.date_done
    return {
        "id": result.id,
        "ok": True,
        "state": result.state,
        "result": value,
        "elapsed": time.monotonic() - sent_at,
        "date_done": None if date_done is None else str(date_done),
        "meta": _meta(result),
    }


def main(argv):
    calls = json.loads(argv[1])
    backend = app.backend
    # send_task puts app.thread_oid in every message's reply_to; the rpc:// backend consumes the queue
    # named by its own oid (the same value), declared before the first message goes out.
    reply_queue = backend.binding.name if hasattr(backend, "binding") else None
    print(json.dumps({"reply_to": app.thread_oid, "reply_queue": reply_queue}), flush=True)
    sent = []
    for call in calls:
        sent_at = time.monotonic()
        result = app.send_task(
            call["task"],
            args=call.get("args", []),
            kwargs=call.get("kwargs", {}),
            **_options(call.get("options")),
        )
        sent.append((call, result, sent_at))
    for call, result, sent_at in sent:
        if call.get("wait", True):
            print(json.dumps(_outcome(call, result, sent_at)), flush=True)
        else:
            print(json.dumps({"id": result.id, "ok": None, "state": "SENT"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
