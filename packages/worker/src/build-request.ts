import type { TaskRequest } from "@tq/core";
import type { Job } from "./job.js";

/** The `TaskRequest` a running task reads through `currentTask()`. */
export function buildTaskRequest(job: Job, hostname: string): TaskRequest {
  const { message, delivery } = job;
  return {
    id: message.id,
    name: message.task,
    args: message.args,
    kwargs: message.kwargs,
    retries: message.retries,
    rootId: message.rootId,
    parentId: message.parentId,
    groupId: message.group,
    eta: message.eta,
    expires: message.expires,
    hostname,
    queue: delivery.queue,
    // kombu's Redis transport marks restored messages with a header rather than a broker flag.
    redelivered: delivery.redelivered || message.headers.redelivered === true,
    headers: message.headers,
    message,
    get signal() {
      return job.signal;
    },
  };
}
