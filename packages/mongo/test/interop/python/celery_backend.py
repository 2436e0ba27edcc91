"""Python Celery's MongoDB result backend, driven by tq's interop tests (test/interop/*.test.ts).

Usage: celery_backend.py '<JSON object>' where the object is

    {"url": "mongodb://127.0.0.1:PORT/db", "extended": false, "ops": [<op>, ...]}

`url` becomes the app's `result_backend`; no broker is used. Each op is run in order and prints one
JSON line to stdout. Writes go through `app.backend` exactly as a Celery worker's would:

    {"op": "store_result", "id", "result", "state", "traceback"?, "request"?}
    {"op": "mark_as_done", "id", "result", "request"?}
    {"op": "mark_as_failure", "id", "exception": {"type", "args"}, "request"?}   # raised for real
    {"op": "mark_as_retry", "id", "exception": {"type", "args"}, "request"?}
    {"op": "mark_as_revoked", "id", "reason"}
    {"op": "save_group", "id", "members": [task ids]}                          # GroupResult(...).save()

Reads go through `AsyncResult` and `GroupResult.restore`, as a Celery client's would:

    {"op": "read", "id", "wait": true, "timeout": 10}   # AsyncResult(id).get() when wait, then
                                                         # .state, .result, .traceback, .date_done, .children
    {"op": "restore_group", "id"}                        # GroupResult.restore(id)

`request` is a task request (celery.app.task.Context): id, group, parent_id, task, args, kwargs,
hostname, retries, routing_key, and children: task ids, or {"group": id, "members": [ids]}.
An exception `type` is a builtins name (ValueError) or a name in interop_errors ("PaymentDeclined",
"Outer.Nested").
"""

import builtins
import datetime
import json
import sys
import traceback as traceback_module

from celery import Celery
from celery.app.task import Context
from celery.result import AsyncResult, GroupResult

import interop_errors


def make_app(spec):
    app = Celery("tq_interop_mongo")
    app.conf.update(
        result_backend=spec["url"],
        result_extended=bool(spec.get("extended", False)),
        result_serializer="json",
        accept_content=["json"],
    )
    return app


def exception_class(name):
    source = builtins if hasattr(builtins, name.split(".")[0]) else interop_errors
    cls = source
    for part in name.split("."):
        cls = getattr(cls, part)
    return cls


def raised(description):
    """The exception with a real traceback: raised and caught here."""
    try:
        raise exception_class(description["type"])(*description.get("args", []))
    except Exception as error:  # the point is to catch whatever was raised
        return error, traceback_module.format_exc()


def request_of(app, raw):
    if raw is None:
        return None
    context = Context(
        id=raw.get("id"),
        group=raw.get("group"),
        parent_id=raw.get("parent_id"),
        task=raw.get("task"),
        args=raw.get("args"),
        kwargs=raw.get("kwargs"),
        hostname=raw.get("hostname"),
        retries=raw.get("retries", 0),
        delivery_info={"routing_key": raw["routing_key"]} if "routing_key" in raw else None,
    )
    for child in raw.get("children", []):
        if isinstance(child, str):
            context.children.append(AsyncResult(child, app=app))
        else:
            members = [AsyncResult(member, app=app) for member in child["members"]]
            context.children.append(GroupResult(child["group"], members, app=app))
    return context


def exception_json(error):
    cls = type(error)
    return {
        "exc_class": f"{cls.__module__}.{cls.__qualname__}",
        "exc_args": json.loads(json.dumps(list(error.args), default=repr)),
        "str": str(error),
        "is_exception": isinstance(error, BaseException),
    }


def value_json(value):
    if isinstance(value, BaseException):
        return {"exception": exception_json(value)}
    return {"value": value}


def result_json(result):
    if isinstance(result, GroupResult):
        return {"group": result.id, "members": [result_json(child) for child in result.results]}
    return result.id


def date_json(value):
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return {"type": "datetime", "iso": value.isoformat(), "tz": str(value.tzinfo)}
    return {"type": type(value).__name__, "repr": repr(value)}


def read(app, op):
    result = AsyncResult(op["id"], app=app)
    out = {"op": "read", "id": op["id"]}
    if op.get("wait", True):
        try:
            out["get"] = {"value": result.get(timeout=op.get("timeout", 10), interval=0.05, propagate=True)}
        except Exception as error:  # every failure is data here: the test asserts on it
            out["get"] = {"exception": exception_json(error)}
    out["state"] = result.state
    out["result"] = value_json(result.result)
    out["traceback"] = result.traceback
    out["date_done"] = date_json(result.date_done)
    children = result.children
    out["children"] = None if children is None else [result_json(child) for child in children]
    meta = result.backend.get_task_meta(op["id"])
    out["meta_keys"] = sorted(meta.keys())
    return out


def restore_group(app, op):
    restored = GroupResult.restore(op["id"], app=app)
    out = {"op": "restore_group", "id": op["id"], "found": restored is not None}
    if restored is None:
        return out
    # Celery 5.2's MongoBackend._restore_group gives a list of AsyncResult, not a GroupResult.
    members = restored.results if isinstance(restored, GroupResult) else list(restored)
    out["type"] = type(restored).__name__
    out["members"] = [member.id for member in members]
    out["states"] = [member.state for member in members]
    out["values"] = [value_json(member.result) for member in members]
    return out


def run(app, op):
    backend = app.backend
    kind = op["op"]
    request = request_of(app, op.get("request"))
    if kind == "store_result":
        backend.store_result(op["id"], op["result"], op["state"], traceback=op.get("traceback"), request=request)
    elif kind == "mark_as_done":
        backend.mark_as_done(op["id"], op["result"], request=request)
    elif kind == "mark_as_failure":
        error, trace = raised(op["exception"])
        backend.mark_as_failure(op["id"], error, traceback=trace, request=request)
        return {"op": kind, "id": op["id"], "traceback": trace}
    elif kind == "mark_as_retry":
        error, trace = raised(op["exception"])
        backend.mark_as_retry(op["id"], error, traceback=trace, request=request)
        return {"op": kind, "id": op["id"], "traceback": trace}
    elif kind == "mark_as_revoked":
        backend.mark_as_revoked(op["id"], op.get("reason", ""), request=request)
    elif kind == "save_group":
        GroupResult(op["id"], [AsyncResult(member, app=app) for member in op["members"]], app=app).save()
    elif kind == "read":
        return read(app, op)
    elif kind == "restore_group":
        return restore_group(app, op)
    else:
        raise ValueError(f"unknown op {kind!r}")
    return {"op": kind, "id": op["id"]}


def main(argv):
    spec = json.loads(argv[1])
    app = make_app(spec)
    for op in spec["ops"]:
        print(json.dumps(run(app, op), default=repr), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
