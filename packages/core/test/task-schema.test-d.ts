import * as v from "valibot";
import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import {
  type AsyncResult,
  createApp,
  type Signals,
  type StandardSchemaV1,
  type Task,
  type TaskRequest,
  type TqSignals,
} from "../src/index.js";

const app = createApp({ env: false });

describe("tasks with an args schema", () => {
  it("infers the function's parameters and the call's arguments from a zod tuple", () => {
    const add = app.task("schema.add", (x, y) => x + y, { args: z.tuple([z.number(), z.number()]) });
    expectTypeOf(add).toEqualTypeOf<Task<[number, number], number>>();
    expectTypeOf(add.delay(1, 2)).toEqualTypeOf<AsyncResult<number>>();
    // @ts-expect-error a string where the schema wants a number
    add.delay("a", 1);
    // @ts-expect-error missing argument
    add.delay(1);
    // @ts-expect-error wrong types in applyAsync
    add.applyAsync(["1", 2]);
  });

  it("gives the function the schema's output and the caller its input (transforms)", () => {
    const shout = app.task(
      "schema.shout",
      (count, when) => {
        expectTypeOf(count).toEqualTypeOf<number>();
        expectTypeOf(when).toEqualTypeOf<Date>();
        return `${count} at ${when.toISOString()}`;
      },
      { args: z.tuple([z.string().transform(Number), z.iso.datetime().transform((s) => new Date(s))]) },
    );
    shout.delay("3", "2026-01-01T00:00:00Z");
    // @ts-expect-error the caller passes the input type (a string), not the output
    shout.delay(3, "2026-01-01T00:00:00Z");
    expectTypeOf(shout.delay("1", "x").get()).resolves.toBeString();
  });

  it("infers from valibot", () => {
    const greet = app.task(
      "schema.greet",
      async (name, excited) => {
        expectTypeOf(name).toBeString();
        expectTypeOf(excited).toEqualTypeOf<boolean | undefined>();
        return name.length;
      },
      { args: v.tuple([v.string(), v.optional(v.boolean())]) },
    );
    greet.delay("ann", true);
    greet.delay("ann", undefined);
    // @ts-expect-error a number is not a string
    greet.delay(1, true);
    expectTypeOf(greet.delay("ann", false).get()).resolves.toBeNumber();
  });

  it("keeps zod's optional tuple elements optional", () => {
    const greet = app.task("schema.greet2", (name, excited) => `${name}${excited ? "!" : ""}`, {
      args: z.tuple([z.string(), z.boolean().optional()]),
    });
    greet.delay("ann");
    greet.delay("ann", true);
    // @ts-expect-error too many arguments
    greet.delay("ann", true, 3);
  });

  it("accepts any Standard Schema and rejects a function that does not fit it", () => {
    const pair = {} as StandardSchemaV1<[string, number]>;
    const task = app.task("schema.pair", (s, n) => s.repeat(n), { args: pair });
    expectTypeOf(task).toEqualTypeOf<Task<[string, number], string>>();
    // @ts-expect-error the function takes a number where the schema gives a string
    app.task("schema.bad", (x: number) => x, { args: z.tuple([z.string()]) });
    // @ts-expect-error a schema of something other than an argument list
    app.task("schema.object", (x: unknown) => x, { args: z.object({ x: z.number() }) });
  });

  it("keeps tasks without a schema as they were", () => {
    const plain = app.task("schema.plain", (x: number) => x * 2, { acksLate: true });
    expectTypeOf(plain).toEqualTypeOf<Task<[x: number], number>>();
  });
});

describe("signals", () => {
  it("types each handler's payload", () => {
    expectTypeOf(app.signals).toEqualTypeOf<Signals<TqSignals>>();
    const off = app.signals.on("taskPrerun", (payload) => {
      expectTypeOf(payload.taskId).toBeString();
      expectTypeOf(payload.request).toEqualTypeOf<TaskRequest>();
      expectTypeOf(payload.args).toEqualTypeOf<readonly unknown[]>();
    });
    expectTypeOf(off).toEqualTypeOf<() => void>();
    app.signals.on("taskPostrun", ({ state, retval }) => {
      expectTypeOf(state).toBeString();
      expectTypeOf(retval).toBeUnknown();
    });
    app.signals.once("beforeTaskPublish", ({ headers }) => {
      headers["x-trace"] = "abc";
    });
    app.signals.on("taskRevoked", async ({ reason }) => {
      expectTypeOf(reason).toEqualTypeOf<"revoked" | "expired" | "terminated">();
    });
    // @ts-expect-error not a signal
    app.signals.on("taskPreRun", () => {});
  });

  it("types the request's context", () => {
    const request = {} as TaskRequest;
    expectTypeOf(request.deliveryInfo.routingKey).toBeString();
    expectTypeOf(request.deliveryInfo.priority).toEqualTypeOf<number | null>();
    expectTypeOf(request.updateState("PROGRESS", { current: 1 })).toEqualTypeOf<Promise<void>>();
  });
});
