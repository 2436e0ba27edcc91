/**
 * Argument checks of tasks that declare an `args` schema (any Standard Schema: zod, valibot,
 * arktype…): the app checks a call before it sends it, the worker again before it runs it.
 */
import { TqError } from "./errors.js";
import type { StandardSchemaV1 } from "./standard-schema.js";
import type { Task, TaskOptions } from "./task.js";

/**
 * A schema of a task's positional arguments: it validates the argument list (a tuple schema such as
 * `z.tuple([z.number(), z.number()])`) and gives the list the function is called with.
 */
export type ArgsSchema = StandardSchemaV1<readonly unknown[], readonly unknown[]>;

/** {@link TaskOptions} of a task whose arguments are checked by a schema (see `app.task`). */
export interface SchemaTaskOptions<S extends ArgsSchema = ArgsSchema> extends TaskOptions {
  /**
   * A schema of the positional arguments (any Standard Schema: zod, valibot, arktype…), e.g.
   * `z.tuple([z.number(), z.number()])`. Calls are checked before they are sent (`TaskArgumentsError`,
   * code `TQ_INVALID_ARGUMENTS`) and again by the worker before it runs the task, which gets the
   * validated (transformed) values; the argument types of `delay`/`applyAsync` and of the function are
   * inferred from it. Keyword arguments are bound through `params` first. Celery: like its `typing`
   * check and `pydantic=True`.
   */
  args: S;
}

/** The `args` schema of a task, if it has one. */
export function argsSchemaOf(task: Task): ArgsSchema | undefined {
  return (task.options as Partial<SchemaTaskOptions>).args;
}

/** The positional arguments a caller passes to a task with this schema (its input type). */
export type SchemaInputArgs<S extends ArgsSchema> = MutableArgs<StandardSchemaV1.InferInput<S>>;

/** The positional arguments the task function receives (its output type: validated, transformed). */
export type SchemaOutputArgs<S extends ArgsSchema> = MutableArgs<StandardSchemaV1.InferOutput<S>>;

// `[...T]` keeps a tuple's labels and optional elements but drops `readonly`, as rest parameters need.
type MutableArgs<T> = T extends readonly unknown[] ? [...T] : never;

/**
 * A call whose arguments do not fit the task's `args` schema (code `TQ_INVALID_ARGUMENTS`). Thrown by
 * `task.delay()`/`applyAsync()`/`app.sendTask()` for a schema that validates synchronously, else the
 * rejection of `result.sent` (and of `get()`); nothing is sent either way. A worker stores it as the
 * task's FAILURE with `exc_type` `ValidationError` and no `exc_module` (Python clients get a
 * `ValidationError` class made up by Celery), the message listing every issue with its path.
 */
export class TaskArgumentsError extends TqError {
  /** The task's name. */
  readonly taskName: string;
  /** The schema's issues, as it reported them. */
  readonly issues: readonly StandardSchemaV1.Issue[];
  /** The type name a worker stores (see the class comment). */
  readonly excType = "ValidationError";
  /** No Python module: Celery makes a class up for `ValidationError`. */
  readonly excModule = null;

  constructor(taskName: string, issues: readonly StandardSchemaV1.Issue[], params?: readonly string[]) {
    const listed = issues.map((issue) => `${issuePath(issue, params)}: ${issue.message}`).join("; ");
    super("TQ_INVALID_ARGUMENTS", `${taskName}() got invalid arguments: ${listed}`);
    this.name = "TaskArgumentsError";
    this.taskName = taskName;
    this.issues = issues;
  }
}

/** True for a Standard Schema (V1) object. */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return false;
  const props = (value as { "~standard"?: unknown })["~standard"];
  return (
    typeof props === "object" &&
    props !== null &&
    (props as { version?: unknown }).version === 1 &&
    typeof (props as { validate?: unknown }).validate === "function"
  );
}

/**
 * Binds keyword arguments (from Python clients) onto positional ones through the task's `params`, as
 * Python binds them. Throws a `TypeError` for a keyword the task does not declare, one given twice, or
 * a gap left before the last bound position.
 */
export function bindKeywordArguments(
  task: Task,
  args: readonly unknown[],
  kwargs: Readonly<Record<string, unknown>>,
): unknown[] {
  const bound = [...args];
  const names = Object.keys(kwargs);
  if (names.length === 0) return bound;
  const params = task.options.params;
  if (!params) {
    throw new TypeError(
      `${task.name}() got keyword arguments (${names.join(", ")}) but declares no params; add params: [...] to its options`,
    );
  }
  for (const name of names) {
    const index = params.indexOf(name);
    if (index === -1) throw new TypeError(`${task.name}() got an unexpected keyword argument '${name}'`);
    if (index < args.length) throw new TypeError(`${task.name}() got multiple values for argument '${name}'`);
    bound[index] = kwargs[name];
  }
  for (let i = 0; i < bound.length; i++) {
    if (!(i in bound)) throw new TypeError(`${task.name}() missing required argument '${params[i] ?? i}'`);
  }
  return bound;
}

/**
 * Builds the positional arguments of a call from args and kwargs, as Python would bind them, and
 * checks that the function gets as many as it declares (without a schema; a schema decides itself).
 */
export function bindCallArguments(
  task: Task,
  args: readonly unknown[],
  kwargs: Readonly<Record<string, unknown>>,
): unknown[] {
  const bound = bindKeywordArguments(task, args, kwargs);
  const required = task.fn.length;
  if (bound.length < required) {
    const missing =
      task.options.params?.slice(bound.length, required).join(", ") ?? `${required - bound.length}`;
    throw new TypeError(
      `${task.name}() missing ${required - bound.length} required positional argument(s): ${missing} (got ${bound.length})`,
    );
  }
  return bound;
}

/**
 * The arguments a task's function is called with: for a task with an `args` schema, the validated
 * list ({@link validateTaskArguments}: sync or a promise, as the schema is); else the list bound by
 * {@link bindCallArguments}. Every pool's `invokeTask` and `task.call()` go through it.
 */
export function taskCallArguments(
  task: Task,
  args: readonly unknown[],
  kwargs: Readonly<Record<string, unknown>>,
): unknown[] | Promise<unknown[]> {
  const schema = argsSchemaOf(task);
  return schema ? validateTaskArguments(task, schema, args, kwargs) : bindCallArguments(task, args, kwargs);
}

/**
 * Checks a call of a task that has an `args` schema: keyword arguments bound first (through `params`),
 * then the list validated. Returns the validated (transformed) list, synchronously when the schema
 * validates synchronously, else a promise; throws (or rejects with) a {@link TaskArgumentsError}.
 */
export function validateTaskArguments(
  task: Task,
  schema: ArgsSchema,
  args: readonly unknown[],
  kwargs: Readonly<Record<string, unknown>>,
): unknown[] | Promise<unknown[]> {
  let bound: unknown[];
  try {
    bound = bindKeywordArguments(task, args, kwargs);
  } catch (error) {
    throw new TaskArgumentsError(task.name, [{ message: (error as Error).message }], task.options.params);
  }
  const result = schema["~standard"].validate(bound);
  if (typeof (result as { then?: unknown }).then === "function") {
    return Promise.resolve(result).then((settled) => validatedArguments(task, settled));
  }
  return validatedArguments(task, result as StandardSchemaV1.Result<readonly unknown[]>);
}

function validatedArguments(task: Task, result: StandardSchemaV1.Result<readonly unknown[]>): unknown[] {
  if (result.issues) throw new TaskArgumentsError(task.name, result.issues, task.options.params);
  const { value } = result;
  if (!Array.isArray(value)) {
    throw new TqError(
      "TQ_CONFIG",
      `the args schema of task "${task.name}" must give the list of arguments (a tuple or array schema), not ${value === null ? "null" : typeof value}`,
    );
  }
  return value;
}

// `x.items[2]` when the task names its params, else `args[0].items[2]`; `(arguments)` for the whole list.
function issuePath(issue: StandardSchemaV1.Issue, params: readonly string[] | undefined): string {
  const keys = (issue.path ?? []).map((segment) =>
    typeof segment === "object" && segment !== null ? segment.key : segment,
  );
  if (keys.length === 0) return "(arguments)";
  const [first, ...rest] = keys;
  const index = typeof first === "number" ? first : typeof first === "string" ? Number(first) : Number.NaN;
  let text = Number.isInteger(index)
    ? (params?.[index] ?? `args[${index}]`)
    : `args${keySuffix(first as PropertyKey)}`;
  for (const key of rest) text += keySuffix(key);
  return text;
}

function keySuffix(key: PropertyKey): string {
  if (typeof key === "number") return `[${key}]`;
  if (typeof key === "string" && /^[A-Za-z_$][\w$]*$/.test(key)) return `.${key}`;
  return `[${typeof key === "symbol" ? key.toString() : JSON.stringify(key)}]`;
}
