/**
 * Celery's builtin canvas tasks (`celery/app/builtins.py`), which a worker runs when a message names
 * them: `celery.map`, `celery.starmap` and `celery.chunks` are what `xmap`, `xstarmap` and `chunks` send;
 * `celery.chain`, `celery.group`, `celery.chord` and `celery.accumulate` apply (or gather) the canvas
 * in their arguments. They are not registered in `app.tasks` (a task of the same name registered there
 * wins); a worker finds them with {@link canvasBuiltin}.
 */
import { TqError } from "../errors.js";
import type { SignatureJson } from "../message/types.js";
import { Task, type TaskFunction, type TaskSender } from "../task.js";
import { currentTask } from "../task-request.js";
import { Chain } from "./chain.js";
import { Chord } from "./chord.js";
import { Chunks } from "./chunks.js";
import { Group } from "./group.js";
import { resultTuple } from "./result-node.js";
import { signatureFromJson } from "./revive.js";

/** The names of the builtin canvas tasks a tq worker runs. */
export const CANVAS_BUILTINS: readonly string[] = Object.freeze([
  "celery.map",
  "celery.starmap",
  "celery.chunks",
  "celery.chain",
  "celery.group",
  "celery.chord",
  "celery.accumulate",
]);

const made = new WeakMap<TaskSender, Map<string, Task>>();

/** The builtin canvas task of this name for an app, or undefined when the name is no builtin. */
export function canvasBuiltin(app: TaskSender, name: string): Task | undefined {
  if (!CANVAS_BUILTINS.includes(name)) return undefined;
  let tasks = made.get(app);
  if (!tasks) {
    tasks = new Map();
    made.set(app, tasks);
  }
  let task = tasks.get(name);
  if (!task) {
    const [fn, params] = definition(app, name);
    task = new Task(name, fn, { params }, app);
    tasks.set(name, task);
  }
  return task;
}

function definition(app: TaskSender, name: string): [TaskFunction, readonly string[]] {
  switch (name) {
    case "celery.map":
      return [async (task: unknown, it: unknown) => mapItems(app, name, task, it, false), ["task", "it"]];
    case "celery.starmap":
      return [async (task: unknown, it: unknown) => mapItems(app, name, task, it, true), ["task", "it"]];
    case "celery.chunks":
      return [
        async (task: unknown, it: unknown, n: unknown) => {
          const handle = new Chunks(
            signatureFromJson(task, app),
            list(it, name, "it") as unknown[][],
            Number(n),
            {
              app,
            },
          ).applyAsync();
          await handle.sent;
          return handle.asTuple();
        },
        ["task", "it", "n"],
      ];
    case "celery.chain":
      // Celery's builtin raises NotImplementedError ("chain is not a real task"); applying it is the
      // useful reading of such a message.
      return [
        async (tasks: unknown) => {
          const steps = list(tasks, name, "tasks").map((step) => signatureFromJson(step, app));
          const applied = new Chain(steps, { app }).applyWith([], {}, {}, app);
          await applied.sent;
          return resultTuple(applied.node);
        },
        ["tasks"],
      ];
    case "celery.group":
      return [
        async (tasks: unknown, result: unknown, groupId: unknown, partialArgs: unknown = []) => {
          const partial = list(partialArgs ?? [], name, "partial_args");
          const sends = list(tasks, name, "tasks").map(
            (task) =>
              signatureFromJson(task, app)
                .cloneWith(partial, {})
                .applyWith([], {}, typeof groupId === "string" ? { group_id: groupId } : {}, app).sent,
          );
          await Promise.all(sends);
          return result;
        },
        ["tasks", "result", "group_id", "partial_args", "add_to_parent"],
      ];
    case "celery.chord":
      return [
        async (header: unknown, body: unknown, _kwargs: unknown = {}, partialArgs: unknown = []) => {
          const members = Array.isArray(header) ? header : (header as SignatureJson | null)?.kwargs?.tasks;
          const group = new Group(
            list(members, name, "header").map((task) => signatureFromJson(task, app)),
            { app },
          );
          const chord = new Chord(group, signatureFromJson(body, app), { app });
          const applied = chord.applyWith(list(partialArgs ?? [], name, "partial_args"), {}, {}, app);
          await applied.sent;
          return resultTuple(applied.node);
        },
        // Python's chord dict carries `kwargs` beside header and body: it comes third so that binding
        // the keyword arguments of such a message leaves no gap.
        ["header", "body", "kwargs", "partial_args", "interval", "countdown", "max_retries", "eager"],
      ];
    default:
      // celery.accumulate(*args, index=None): what Task.replace puts after a group.
      return [
        (...bound: unknown[]) => {
          const request = currentTask();
          const args = request ? [...request.args] : bound;
          const index = request?.kwargs.index;
          if (index === undefined || index === null) return args;
          if (typeof index !== "number") throw new TypeError("celery.accumulate: index must be an integer");
          return args.at(index);
        },
        ["args", "index"],
      ];
  }
}

async function mapItems(
  app: TaskSender,
  name: string,
  task: unknown,
  it: unknown,
  spread: boolean,
): Promise<unknown[]> {
  const mapped = signatureFromJson(task, app);
  // Called in this process, as Celery's `signature(task).type(item)`: the task must be registered here.
  const target = app.tasks.get(mapped.task);
  if (!target) {
    throw new TqError(
      "TQ_TASK_NOT_REGISTERED",
      `${name}: task "${mapped.task}" is not registered on this worker`,
      {
        component: "canvas",
      },
    );
  }
  const results: unknown[] = [];
  for (const [index, item] of list(it, name, "it").entries()) {
    if (spread && !Array.isArray(item))
      throw new TypeError(`${name}: item ${index} is not a list of arguments`);
    results.push(await (spread ? target.call(...(item as unknown[])) : target.call(item)));
  }
  return results;
}

function list(value: unknown, name: string, argument: string): unknown[] {
  if (!Array.isArray(value)) throw new TypeError(`${name}: ${argument} must be a list`);
  return value;
}
