import * as v from "valibot";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { type App, createApp } from "../src/app.js";
import { errorToExceptionInfo } from "../src/exception-info.js";
import { MemoryBackend, MemoryBroker, MemoryServer } from "../src/memory/index.js";
import type { StandardSchemaV1 } from "../src/standard-schema.js";
import type { Task } from "../src/task.js";
import { TaskArgumentsError, taskCallArguments } from "../src/task-arguments.js";
import { updateState } from "../src/task-request.js";

const apps: App[] = [];
function makeApp() {
  const server = new MemoryServer();
  const broker = new MemoryBroker({ server });
  const app = createApp({ broker, resultBackend: new MemoryBackend(), env: false });
  apps.push(app);
  return { app, broker };
}

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

// A Standard Schema that validates asynchronously, as a schema with an async refinement does.
function asyncPositive(): StandardSchemaV1<[number], [number]> {
  return {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: async (value) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        const [n] = value as unknown[];
        return typeof n === "number" && n > 0
          ? { value: [n] }
          : { issues: [{ message: "must be a positive number", path: [{ key: 0 }] }] };
      },
    },
  };
}

describe("tasks with an args schema", () => {
  it("throws TaskArgumentsError from delay() for a sync schema and sends nothing", async () => {
    const { app, broker } = makeApp();
    const add = app.task("tasks.add", (x, y) => x + y, { args: z.tuple([z.number(), z.number()]) });
    let error: unknown;
    try {
      add.delay("a" as unknown as number, 1);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(TaskArgumentsError);
    expect(error).toMatchObject({ code: "TQ_INVALID_ARGUMENTS", taskName: "tasks.add" });
    expect((error as Error).message).toMatch(/^\[tq\] tasks\.add\(\) got invalid arguments: args\[0\]: /);
    expect((error as TaskArgumentsError).issues).toHaveLength(1);
    expect(await broker.queueLength("celery")).toBe(0);
  });

  it("lists every issue with its path, naming params when the task declares them", () => {
    const { app } = makeApp();
    const schema = z.tuple([z.object({ items: z.array(z.number()) }), z.string()]);
    const task = app.task("tasks.items", (order, note) => `${order.items.length}${note}`, {
      args: schema,
      params: ["order", "note"],
    });
    expect(() => task.delay({ items: [1, "x" as unknown as number] }, 5 as unknown as string)).toThrow(
      /tasks\.items\(\) got invalid arguments: order\.items\[1\]: .+; note: .+/,
    );
  });

  it("checks app.sendTask of a registered task too, after binding keyword arguments", async () => {
    const { app, broker } = makeApp();
    app.task("tasks.add", (x, y) => x + y, { args: z.tuple([z.number(), z.number()]), params: ["x", "y"] });
    expect(() => app.sendTask("tasks.add", [1], { y: "2" })).toThrow(/y: /);
    expect(() => app.sendTask("tasks.add", [1], { z: 2 })).toThrow(/unexpected keyword argument 'z'/);
    await app.sendTask("tasks.add", [1], { y: 2 }).sent;
    // Unregistered names are other clients' tasks: nothing to check here.
    await app.sendTask("tasks.elsewhere", ["anything"]).sent;
    expect(await broker.queueLength("celery")).toBe(2);
  });

  it("rejects result.sent and get() for an async schema, and sends nothing", async () => {
    const { app, broker } = makeApp();
    const task = app.task("tasks.positive", (n) => n * 2, { args: asyncPositive() });
    const result = task.delay(-1);
    await expect(result.sent).rejects.toMatchObject({
      code: "TQ_INVALID_ARGUMENTS",
      message: expect.stringContaining("args[0]: must be a positive number"),
    });
    await expect(result.get({ timeoutMs: 1000 })).rejects.toBeInstanceOf(TaskArgumentsError);
    expect(await broker.queueLength("celery")).toBe(0);
    await task.delay(3).sent;
    expect(await broker.queueLength("celery")).toBe(1);
  });

  it("sends the caller's values, and gives the function the validated ones", async () => {
    const { app } = makeApp();
    const schema = z.tuple([z.string().transform(Number)]);
    const task = app.task("tasks.double", (n) => n * 2, { args: schema });
    expect(await task.call("21")).toBe(42);
    const prepared = taskCallArguments(task as unknown as Task, ["4"], {});
    expect(prepared).toEqual([4]);
  });

  it("works with valibot", () => {
    const { app } = makeApp();
    const task = app.task("tasks.name", (name) => name, {
      args: v.tuple([v.pipe(v.string(), v.minLength(2))]),
    });
    expect(() => task.delay("a")).toThrow(TaskArgumentsError);
    expect(() => task.delay("ab")).not.toThrow();
  });

  it("refuses an args option that is not a Standard Schema, and a schema that gives no list", () => {
    const { app } = makeApp();
    expect(() =>
      app.task("tasks.bad", () => 1, { args: { parse() {} } as unknown as StandardSchemaV1<[], []> }),
    ).toThrow(expect.objectContaining({ code: "TQ_CONFIG" }));
    const objectSchema = z.array(z.unknown()).transform(() => "not a list") as unknown as StandardSchemaV1<
      [],
      []
    >;
    const task = app.task("tasks.object", () => 1, { args: objectSchema });
    expect(() => taskCallArguments(task as unknown as Task, [{}], {})).toThrow(
      expect.objectContaining({ code: "TQ_CONFIG" }),
    );
  });

  it("is stored by a worker as ValidationError with no module", () => {
    const error = new TaskArgumentsError("tasks.add", [{ message: "Expected number", path: [0] }], ["x"]);
    const { info } = errorToExceptionInfo(error);
    expect(info).toEqual({
      exc_type: "ValidationError",
      exc_message: ["[tq] tasks.add() got invalid arguments: x: Expected number"],
      exc_module: null,
    });
  });
});

describe("updateState outside a task", () => {
  it("rejects with TQ_NO_CURRENT_TASK", async () => {
    await expect(updateState("PROGRESS", { current: 1 })).rejects.toMatchObject({
      code: "TQ_NO_CURRENT_TASK",
    });
  });
});
