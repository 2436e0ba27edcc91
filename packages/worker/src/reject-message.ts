import type { Delivery, Logger } from "@tq/core";
import { celeryException } from "./celery-exceptions.js";
import type { DeadLetters } from "./dead-letters.js";
import type { EmitWorkerEvent } from "./events.js";
import type { Rejection } from "./intake.js";
import type { ResultWriter } from "./result-writer.js";

/** What {@link rejectMessage} needs from its worker. */
export interface RejectionContext {
  readonly logger: Logger;
  readonly results: ResultWriter;
  readonly deadLetters: DeadLetters;
  readonly emit: EmitWorkerEvent;
}

/**
 * Handles a message the worker cannot run: one error line, a NotRegistered FAILURE for an unknown
 * task (so a waiting client learns of it), the message kept in its dead-letter queue, an event.
 */
export async function rejectMessage(
  ctx: RejectionContext,
  delivery: Delivery,
  rejection: Rejection,
): Promise<void> {
  const { logger, results, deadLetters, emit } = ctx;
  const attributes = {
    "tq.queue": delivery.queue,
    "tq.reason": rejection.reason,
    "tq.dead_letter_queue": deadLetters.queueFor(delivery.queue),
  };
  let taskId: string | null = null;
  if (rejection.kind === "unregistered") {
    const { message } = rejection;
    taskId = message.id;
    logger.error(rejection.reason, { ...attributes, "tq.task_id": taskId, "tq.task_name": message.task });
    // Stored whatever ignore_result says, as Celery's consumer does.
    const exception = celeryException("NotRegistered", [message.task]);
    await results.store({ message, queue: delivery.queue, storesResult: true }, "FAILURE", exception, null);
  } else {
    logger.error("rejected malformed message", attributes);
  }
  const outcome = await deadLetters.keep(delivery, rejection.reason);
  emit("message-rejected", {
    queue: delivery.queue,
    code: rejection.error.code,
    reason: rejection.reason,
    taskId,
    deadLetterQueue: outcome === "dead-lettered" ? deadLetters.queueFor(delivery.queue) : null,
    error: rejection.error,
  });
}
