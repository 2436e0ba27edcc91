import { hostname } from "node:os";

/** Celery's anonymous node name for senders: `gen<pid>@<host>`. */
export function anonNodeName(): string {
  return `gen${process.pid}@${hostname()}`;
}

/** A worker's default node name: `celery@<host>`, as Celery's. */
export function defaultWorkerName(): string {
  return `celery@${hostname()}`;
}
