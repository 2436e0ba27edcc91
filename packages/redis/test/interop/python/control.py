"""Remote control from Python for tq's interop tests: sends Celery's control commands, prints "sent".

Usage (broker from TQ_INTEROP_BROKER_URL, as celery_app.py):

    control.py revoke <id> [<id>...] [--terminate] [--destination node@host]
    control.py rate_limit <task name> <rate> [--destination node@host]

Commands go out without waiting for replies (tq workers do not send any yet), exactly as
`app.control.revoke(...)` and `app.control.rate_limit(...)` do by default.
"""

import argparse
import sys

from celery_app import app


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["revoke", "rate_limit"])
    parser.add_argument("values", nargs="+")
    parser.add_argument("--terminate", action="store_true")
    parser.add_argument("--destination", action="append")
    args = parser.parse_args(argv[1:])
    if args.command == "revoke":
        ids = args.values[0] if len(args.values) == 1 else args.values
        app.control.revoke(ids, terminate=args.terminate, destination=args.destination)
    else:
        task_name, rate = args.values
        app.control.rate_limit(task_name, rate, destination=args.destination)
    print("sent", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
