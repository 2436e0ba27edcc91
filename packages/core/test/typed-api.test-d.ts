import { describe, expectTypeOf, it } from "vitest";
import { type AsyncResult, createApp, type Task } from "../src/index.js";

const app = createApp({ env: false });
const add = app.task("tasks.add", (x: number, y: number) => x + y);
const greet = app.task(
  "tasks.greet",
  async (name: string, excited?: boolean) => `hi ${name}${excited ? "!" : ""}`,
);
const noArgs = app.task("tasks.tick", () => {});

describe("typed task API", () => {
  it("infers argument and result types from the function", () => {
    expectTypeOf(add).toEqualTypeOf<Task<[x: number, y: number], number>>();
    expectTypeOf(add.delay(2, 3)).toEqualTypeOf<AsyncResult<number>>();
    expectTypeOf(add.delay(2, 3).get()).resolves.toBeNumber();
    expectTypeOf(greet.delay("ann").get()).resolves.toBeString();
    expectTypeOf(noArgs.delay().get()).resolves.toBeVoid();
  });

  it("rejects wrong arguments at compile time", () => {
    // @ts-expect-error a string where a number is expected
    add.delay("x", 1);
    // @ts-expect-error missing argument
    add.delay(2);
    // @ts-expect-error too many arguments
    add.delay(1, 2, 3);
    // @ts-expect-error wrong argument types in applyAsync
    add.applyAsync(["1", 2]);
    // @ts-expect-error unknown call option
    add.applyAsync([1, 2], {}, { countdwn: 5 });
    greet.delay("ann");
    greet.delay("ann", true);
  });

  it("types results of tasks sent by name as the caller says", () => {
    expectTypeOf(app.sendTask("remote.task").get()).resolves.toBeUnknown();
    expectTypeOf(app.sendTask<string[]>("remote.task").get()).resolves.toEqualTypeOf<string[]>();
    expectTypeOf(app.asyncResult<number>("id").get()).resolves.toBeNumber();
  });
});
