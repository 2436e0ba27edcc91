"""Canvas tasks for tq's canvas interop tests, on top of celery_app's (tasks.add, tasks.fail…).

Run a worker with `celery -A canvas_app worker`; canvas_client.py imports the same tasks to build
workflows with Celery's own canvas (chain, group, chord), so the messages are exactly Celery's.
"""

import redis

from celery_app import BROKER_URL, app  # noqa: F401  (celery -A canvas_app finds `app` here)

_journal = None


def _redis():
    global _journal
    if _journal is None:
        _journal = redis.Redis.from_url(BROKER_URL)
    return _journal


@app.task(name="tasks.tsum")
def tsum(values):
    return sum(values)


@app.task(name="tasks.journal_value")
def journal_value(value, key):
    """Appends `python:<value as JSON>` to the list `key`: a test counts how often a step ran."""
    import json

    _redis().rpush(key, "python:" + json.dumps(value))
    return value


@app.task(name="tasks.on_error_id")
def on_error_id(task_id, *, key):
    """An old-style errback (one positional parameter): the worker of the failed task sends it the
    task's id. Journals it to `key` (keyword-only, so Celery does not take it for a new-style
    `(request, exc, traceback)` errback)."""
    _redis().rpush(key, f"python:{task_id}")
    return task_id
