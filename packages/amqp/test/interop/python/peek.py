"""Takes messages off a RabbitMQ queue with py-amqp's basic_get and prints them as py-amqp decoded them.

Usage: peek.py <queue> <count> [timeout seconds]. Waits (polling) until `count` messages were taken or
the timeout passed; acks each one. One JSON line per message on stdout:

    {"properties": {...basic properties, application_headers as decoded...},
     "header_types": {"shadow": "NoneType", "timelimit": "list", ...},
     "delivery_info": {"exchange": "", "routing_key": "...", "redelivered": false},
     "body": "<the body, utf-8>"}

This is the view of the Python side's own AMQP client, used to check that what tq publishes (headers
as an AMQP table holding nulls and arrays, properties) arrives as a Celery worker would read it.
"""

import json
import os
import sys
import time

import amqp
from kombu.utils.url import url_to_parts

BROKER_URL = os.environ.get("TQ_INTEROP_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")


def _connection():
    _, host, port, user, password, vhost, _ = url_to_parts(BROKER_URL)
    return amqp.Connection(
        host=f"{host or '127.0.0.1'}:{port or 5672}",
        userid=user or "guest",
        password=password or "guest",
        virtual_host=vhost or "/",
    )


def _jsonable(value):
    return json.loads(json.dumps(value, default=repr))


def main(argv):
    queue, count = argv[1], int(argv[2])
    timeout = float(argv[3]) if len(argv) > 3 else 10.0
    deadline = time.monotonic() + timeout
    connection = _connection()
    connection.connect()
    try:
        channel = connection.channel()
        taken = 0
        while taken < count and time.monotonic() < deadline:
            message = channel.basic_get(queue=queue, no_ack=False)
            if message is None:
                time.sleep(0.05)
                continue
            properties = dict(message.properties)
            headers = properties.get("application_headers") or {}
            print(
                json.dumps(
                    {
                        "properties": _jsonable(properties),
                        "header_types": {key: type(value).__name__ for key, value in headers.items()},
                        "delivery_info": _jsonable(message.delivery_info),
                        "body": message.body.decode("utf-8") if isinstance(message.body, bytes) else message.body,
                    }
                ),
                flush=True,
            )
            channel.basic_ack(message.delivery_tag)
            taken += 1
        return 0 if taken == count else 3
    finally:
        connection.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
