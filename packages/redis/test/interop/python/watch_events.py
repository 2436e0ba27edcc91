"""Celery's own event receiver and monitor state, watching a tq worker's events (worker-events.test.ts).

Usage: watch_events.py <broker url> <hostname> <seconds>. Prints one JSON line per event received from
that hostname, then a last line {"alive": ..., "heartbeats": n} from celery.events.state.State, the
state Flower and `celery events` keep, once a heartbeat and the worker-offline event arrived or the
time is up.
"""
import json
import sys

from celery import Celery

broker, hostname, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
app = Celery(broker=broker)
state = app.events.State()
seen = {"heartbeats": 0, "alive_after_heartbeat": None, "offline": False}


def on_event(event):
    if event.get("hostname") != hostname:
        return
    state.event(event)
    print(json.dumps(event), flush=True)
    if event["type"] == "worker-heartbeat":
        seen["heartbeats"] += 1
        seen["alive_after_heartbeat"] = state.workers[hostname].alive
    if event["type"] == "worker-offline":
        seen["offline"] = True
        raise KeyboardInterrupt


with app.connection() as connection:
    receiver = app.events.Receiver(connection, handlers={"*": on_event})
    print(json.dumps({"ready": True}), flush=True)
    try:
        receiver.capture(limit=None, timeout=seconds, wakeup=False)
    except (KeyboardInterrupt, TimeoutError, OSError):
        pass
    except Exception as error:  # socket.timeout on older kombu
        if "timed out" not in str(error):
            raise

print(json.dumps({"summary": True, **seen, "alive_now": state.workers[hostname].alive if hostname in state.workers else None}), flush=True)
