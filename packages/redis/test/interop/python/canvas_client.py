"""Builds workflows with Celery's canvas and prints what Python reads back, for tq's interop tests.

Usage: canvas_client.py '<JSON list of steps>'. Each step is one of:

    {"workflow": "chain" | "chord" | "chain_with_chord" | "starmap" | "chunks" | "chord_failing" |
                 "chain_failing",
     "journal": "<redis list key>", "errback_queue": "<queue>"}
    {"read": "<task id>"}

Workflows are sent to the default queue (TQ_INTEROP_QUEUE); errbacks go to `errback_queue`. Then each
result is awaited (AsyncResult.get, propagate=True) and printed as one JSON line, as client.py does.
"""

import json
import sys
import time

from celery import chain, chord, group
from canvas_app import app, journal_value, on_error_id, tsum
from celery_app import add, fail, multiply


def build(step):
    kind = step["workflow"]
    if kind == "chain":
        return chain(add.s(2, 2), add.s(4), multiply.s(3))  # ((2 + 2) + 4) * 3 = 24
    if kind == "chord":
        return chord([add.s(i, i) for i in range(5)], tsum.s())  # 0 + 2 + 4 + 6 + 8 = 20
    if kind == "chain_with_chord":
        # add(1, 1) = 2 → chord([2 + 1, 2 + 2], tsum) = 7 → journaled by the last step
        return chain(add.s(1, 1), group(add.s(1), add.s(2)), tsum.s(), journal_value.s(step["journal"]))
    if kind == "starmap":
        return add.starmap([(1, 2), (3, 4)])  # one celery.starmap message: [3, 7]
    if kind == "chunks":
        return add.chunks([(1, 1), (2, 2), (3, 3)], 2)  # celery.starmap × 2, as a group: [[2, 4], [6]]
    if kind == "chord_failing":
        return chord([add.s(1, 1), fail.si("bad member")], tsum.s())
    if kind == "chain_failing":
        workflow = chain(add.s(1, 1), fail.si("bad step"), add.s(5))
        workflow.link_error(on_error_id.s(key=step["journal"]).set(queue=step["errback_queue"]))
        return workflow
    raise ValueError(f"unknown workflow {kind}")


def outcome(result, sent_at, timeout):
    try:
        value = result.get(timeout=timeout, propagate=True, interval=0.1)
    except Exception as error:  # every failure is data here
        cls = type(error)
        # get() raises a failed parent's error first (a chord's header member); `result.result` is
        # what is stored for this task itself.
        stored = result.result
        return {
            "stored_class": f"{type(stored).__module__}.{type(stored).__qualname__}",
            "stored_message": str(stored),
            "id": result.id,
            "ok": False,
            "state": result.state,
            "exc_class": f"{cls.__module__}.{cls.__qualname__}",
            "message": str(error),
            "parent_id": result.parent.id if result.parent is not None else None,
            "elapsed": time.monotonic() - sent_at,
        }
    parent = result.parent
    return {
        "id": result.id,
        "ok": True,
        # A GroupResult (chunks) has no state of its own.
        "state": getattr(result, "state", "SUCCESS"),
        "result": value,
        "parent_id": parent.id if parent is not None else None,
        "elapsed": time.monotonic() - sent_at,
    }


def main(argv):
    steps = json.loads(argv[1])
    pending = []
    for step in steps:
        sent_at = time.monotonic()
        if "read" in step:
            pending.append((app.AsyncResult(step["read"]), sent_at, step.get("timeout", 30)))
        else:
            pending.append((build(step).apply_async(), sent_at, step.get("timeout", 30)))
    for result, sent_at, timeout in pending:
        print(json.dumps(outcome(result, sent_at, timeout), default=repr), flush=True)


if __name__ == "__main__":
    main(sys.argv)
