import { describe, expectTypeOf, it } from "vitest";
import {
  type AsyncResult,
  type Chain,
  type Chord,
  chain,
  chord,
  createApp,
  type Group,
  type GroupResult,
  group,
  type Signature,
  signature,
} from "../src/index.js";

const app = createApp({ env: false });
const add = app.task("tasks.add", (x: number, y: number) => x + y);
const show = app.task("tasks.show", (value: number) => `#${value}`);
const shout = app.task("tasks.shout", (text: string) => text.toUpperCase());
const tsum = app.task("tasks.tsum", (values: number[]) => values.reduce((sum, value) => sum + value, 0));
const pair = app.task("tasks.pair", (values: [number, string]) => values.join(":"));
const greet = app.task("tasks.greet", (name: string, excited?: boolean) => `hi ${name}${excited ? "!" : ""}`);

describe("typed canvas", () => {
  it("s() leaves the first arguments to come; si() takes anything", () => {
    expectTypeOf(add.s(2, 2)).toEqualTypeOf<Signature<[], number>>();
    expectTypeOf(add.s(4)).toEqualTypeOf<Signature<[number], number>>();
    expectTypeOf(add.s()).toEqualTypeOf<Signature<[number, number], number>>();
    expectTypeOf(add.si(1, 1)).toEqualTypeOf<Signature<unknown[], number>>();
    expectTypeOf(add.s(4).delay(1)).toEqualTypeOf<AsyncResult<number>>();
    // Optional parameters: the remaining arguments are not computed, the bound ones still checked.
    expectTypeOf(greet.s("ann")).toEqualTypeOf<Signature<unknown[], string>>();
    // @ts-expect-error a string where the last parameter is a number
    add.s("x");
    // @ts-expect-error the remaining argument is missing
    add.s(4).delay();
    // @ts-expect-error si() needs every argument
    add.si(1);
  });

  it("a chain's steps must take the previous step's result", () => {
    const ok = chain(add.s(2, 2), add.s(4), show.s(), shout.s());
    expectTypeOf(ok).toEqualTypeOf<Chain<[], string, AsyncResult<string>>>();
    expectTypeOf(ok.applyAsync().get()).resolves.toBeString();
    expectTypeOf(chain(add.s(4), show.s()).delay).parameters.toEqualTypeOf<[number]>();
    chain(add.s(2, 2), add.si(1, 1), show.s());
    // A step by name returns what the caller says it does (unknown unless told).
    chain(add.s(2, 2), signature<string>("python.task"), shout.s());
    // @ts-expect-error an unknown result into a step that takes a string
    chain(add.s(2, 2), signature("python.task"), shout.s());
    // @ts-expect-error a number into a step that takes a string
    chain(add.s(2, 2), shout.s());
    // @ts-expect-error a step with all its arguments bound takes no result
    chain(add.s(2, 2), add.s(1, 1));
    // @ts-expect-error a step that needs two more arguments
    chain(add.s(2, 2), add.s());
  });

  it("group results are a typed tuple; a group fits after a step its members all fit", () => {
    const both = group(add.s(1, 1), show.s(2));
    expectTypeOf(both).toEqualTypeOf<Group<[number, string], []>>();
    expectTypeOf(both.applyAsync()).toEqualTypeOf<GroupResult<[number, string]>>();
    expectTypeOf(both.applyAsync().get()).resolves.toEqualTypeOf<[number, string]>();
    expectTypeOf(
      group([add.s(1, 1), add.s(2, 2)])
        .applyAsync()
        .get(),
    ).resolves.toEqualTypeOf<[number, number]>();
    // A group in a group is flattened, in the types as at run time.
    expectTypeOf(
      group(add.s(1, 1), group(add.s(2, 2), show.s(1)))
        .applyAsync()
        .get(),
    ).resolves.toEqualTypeOf<[number, number, string]>();
    const many = Array.from({ length: 3 }, (_, i) => add.s(i, i));
    expectTypeOf(group(many).applyAsync().get()).resolves.toEqualTypeOf<number[]>();
    expectTypeOf(chain(add.s(1, 1), group(add.s(1), show.s())).applyAsync()).toEqualTypeOf<
      GroupResult<[number, string]>
    >();
    // @ts-expect-error one member takes a string
    chain(add.s(1, 1), group(add.s(1), shout.s()));
  });

  it("a chord body takes the header's results", () => {
    const total = chord([add.s(1, 1), add.s(2, 2)], tsum.s());
    expectTypeOf(total).toEqualTypeOf<Chord<[], number, AsyncResult<number>>>();
    expectTypeOf(total.applyAsync().get()).resolves.toBeNumber();
    expectTypeOf(
      chord(group(add.s(1, 1), show.s(1)), pair.s())
        .applyAsync()
        .get(),
    ).resolves.toBeString();
    expectTypeOf(chain(add.s(1, 1), chord([add.s(1), add.s(2)], tsum.s()), show.s()).delay()).toEqualTypeOf<
      AsyncResult<string>
    >();
    // @ts-expect-error a body that takes a string, not the list of results
    chord([add.s(1, 1), add.s(2, 2)], shout.s());
    // @ts-expect-error the body takes [number, string], the header gives [number, number]
    chord([add.s(1, 1), add.s(2, 2)], pair.s());
  });

  it("map, starmap and chunks are typed by the task", () => {
    expectTypeOf(show.map([1, 2]).applyAsync().get()).resolves.toEqualTypeOf<string[]>();
    expectTypeOf(
      add
        .starmap([[1, 2]])
        .applyAsync()
        .get(),
    ).resolves.toEqualTypeOf<number[]>();
    expectTypeOf(
      add
        .chunks([[1, 2]], 1)
        .applyAsync()
        .get(),
    ).resolves.toEqualTypeOf<number[][]>();
    // @ts-expect-error starmap items are argument lists of the task
    add.starmap([["1", 2]]);
  });
});
