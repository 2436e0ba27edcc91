import { hostname } from "node:os";

// Read once: os.hostname() is a system call, and a message built without an origin asks for it.
let anonName: string | undefined;

/** Celery's anonymous node name for senders: `gen<pid>@<host>`. */
export function anonNodeName(): string {
  anonName ??= `gen${process.pid}@${hostname()}`;
  return anonName;
}

/** A worker's default node name: `celery@<host>`, as Celery's. */
export function defaultWorkerName(): string {
  return `celery@${hostname()}`;
}
