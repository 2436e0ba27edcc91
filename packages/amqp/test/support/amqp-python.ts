/**
 * Python's AMQP client (py-amqp, what Celery's kombu uses for `amqp://`) run from the tests, so the
 * wire format is checked against the other side's real encoder and decoder, not only amqplib's.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { amqpTestUrl } from "./amqp-server.js";

const run = promisify(execFile);

/** The interpreter that has Celery, kombu and py-amqp (Debian's, not the one first on PATH). */
export const PYTHON = "/usr/bin/python3";

const CONNECT = `
import amqp, json, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
vhost = urllib.parse.unquote(u.path[1:]) if len(u.path) > 1 else "/"
conn = amqp.Connection(host=f"{u.hostname}:{u.port or 5672}", userid=urllib.parse.unquote(u.username or "guest"),
                       password=urllib.parse.unquote(u.password or "guest"), virtual_host=vhost)
conn.connect()
ch = conn.channel()
`;

// The message of celery-protocol.md §1.4, published with the properties and headers Celery 5.2 gives
// `add.apply_async((2, 3), priority=5, countdown=10, expires=60, headers={'x_custom': 'hi'})`.
const PUBLISH = `${CONNECT}
queue, task_id = sys.argv[2], sys.argv[3]
headers = {"lang": "py", "task": "probe.add", "id": task_id, "shadow": None,
  "eta": "2026-11-24T00:27:19.123303+00:00", "expires": "2026-11-24T00:28:09.123303+00:00",
  "group": None, "group_index": None, "retries": 0, "timelimit": [None, None], "root_id": task_id,
  "parent_id": None, "argsrepr": "(2, 3)", "kwargsrepr": "{}", "origin": "gen10724@vm",
  "ignore_result": False, "x_custom": "hi", "x_nested": {"list": [1, "two", None, {"three": 3.5}], "empty": {}}}
body = b'[[2, 3], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]'
msg = amqp.Message(body, content_type="application/json", content_encoding="utf-8",
  application_headers=headers, delivery_mode=2, priority=5, correlation_id=task_id,
  reply_to="6148b22c-ecd8-3cee-a1dd-80805a7d655c", expiration="60000")
ch.basic_publish(msg, exchange="", routing_key=queue)
conn.close()
`;

const GET = `${CONNECT}
msg = ch.basic_get(sys.argv[2], no_ack=True)
if msg is None:
    print("null")
else:
    props = dict(msg.properties)
    print(json.dumps({"properties": props, "delivery_info": {k: v for k, v in msg.delivery_info.items() if k != "channel"},
                      "body": msg.body if isinstance(msg.body, str) else msg.body.decode("utf-8"),
                      "body_type": type(msg.body).__name__}, default=repr))
conn.close()
`;

/** Publishes §1.4's message to `queue` (which must exist) with py-amqp, as Celery does. */
export async function pythonPublishCeleryMessage(queue: string, taskId: string): Promise<void> {
  await run(PYTHON, ["-c", PUBLISH, amqpTestUrl(), queue, taskId]);
}

/** What py-amqp's `basic_get` reads from a queue, as JSON (null when it is empty). */
export interface PythonGot {
  properties: Record<string, unknown> & { application_headers?: Record<string, unknown> };
  delivery_info: Record<string, unknown>;
  body: string;
  /** `str` when py-amqp decoded the body by its content encoding, `bytes` otherwise. */
  body_type: string;
}

/** Takes one message from `queue` with py-amqp's `basic_get` (no ack) and returns what Python decoded. */
export async function pythonGet(queue: string): Promise<PythonGot | null> {
  const { stdout } = await run(PYTHON, ["-c", GET, amqpTestUrl(), queue]);
  return JSON.parse(stdout) as PythonGot | null;
}
