import {
  type App,
  canvasBuiltin,
  type Delivery,
  decodeTaskMessage,
  type Serializer,
  type Task,
  type TaskMessage,
  TqError,
} from "@tq/core";
import { errorText } from "./error-text.js";

/** What a delivery turned out to be. */
export type Intake =
  /** A task this worker can run. */
  | { kind: "task"; message: TaskMessage; task: Task }
  /** A well-formed message naming a task nobody registered here. */
  | { kind: "unregistered"; message: TaskMessage; error: TqError; reason: string }
  /** A message that cannot be decoded or validated. */
  | { kind: "malformed"; error: TqError; reason: string };

/** A delivery the worker cannot run. */
export type Rejection = Exclude<Intake, { kind: "task" }>;

/**
 * The serializers a worker reads with: those registered on the app whose content type or name is in
 * `acceptContent` (Celery's `accept_content` takes either), so a message in any other content type is
 * refused before its body is decoded.
 */
export function acceptedSerializers(app: App): Serializer[] {
  const accept = new Set(app.conf.acceptContent.map((entry) => entry.toLowerCase()));
  return [...app.serializers.values()].filter(
    (serializer) =>
      accept.has(serializer.contentType.toLowerCase()) || accept.has(serializer.name.toLowerCase()),
  );
}

/** Decodes a delivery and finds its task. */
export function inspectDelivery(delivery: Delivery, app: App, serializers: readonly Serializer[]): Intake {
  const decoded = decodeTaskMessage(delivery.message, serializers);
  if (!decoded.ok) return { kind: "malformed", error: decoded.error, reason: errorText(decoded.error) };
  const message = decoded.value;
  // Celery's builtin canvas tasks (celery.map, celery.chord…) unless the app registered its own.
  const task = app.tasks.get(message.task) ?? canvasBuiltin(app, message.task);
  if (task) return { kind: "task", message, task };
  const error = new TqError(
    "TQ_TASK_NOT_REGISTERED",
    `received unregistered task of type '${message.task}'`,
    {
      component: "worker",
    },
  );
  return { kind: "unregistered", message, error, reason: errorText(error) };
}
