/**
 * Compile-time types of the canvas: what a signature still takes when it is applied (`P`), what it
 * returns (`R`) and the handle `applyAsync()` gives (`H`), plus the checks that make a chain's steps
 * fit. Nothing here exists at run time.
 */
import type { AsyncResult } from "../async-result.js";
import type { Group } from "./group.js";
import type { GroupResult } from "./group-result.js";

/** The phantom types a signature carries. */
export interface SignatureTypes<P extends unknown[], R, H> {
  /** Arguments it still takes: those a chain prepends, or `delay(...)` passes. */
  readonly params: P;
  /** What the task (or the last task of the workflow) returns. */
  readonly result: R;
  /** What `applyAsync()` returns: an `AsyncResult`, or a `GroupResult` for a group. */
  readonly handle: H;
}

/** Anything that carries {@link SignatureTypes}: every signature, chain, group and chord. */
export interface Typed<P extends unknown[] = unknown[], R = unknown, H = unknown> {
  /** Compile-time only: never set at run time. */
  readonly "~types"?: SignatureTypes<P, R, H>;
}

/** What a signature (or a whole workflow) returns. */
export type ResultOf<S> = S extends Typed<unknown[], infer R, unknown> ? R : never;
/** The arguments a signature still takes. */
export type ParamsOf<S> = S extends Typed<infer P, unknown, unknown> ? P : never;
/** The handle a signature's `applyAsync()` returns. */
export type HandleOf<S> = S extends Typed<unknown[], unknown, infer H> ? H : never;

/**
 * The one value a signature with the remaining arguments `P` accepts as a chain step (the previous
 * step's result, prepended as Celery does): `unknown` when its arguments are not checked (an
 * immutable signature, one made by name), `never` when it takes no more arguments or more than one.
 */
export type InputOf<P extends unknown[]> = unknown[] extends P
  ? unknown
  : P extends readonly [infer First, ...infer Rest]
    ? [] extends Rest
      ? First
      : never
    : P extends readonly []
      ? never
      : P extends readonly (infer Element)[]
        ? Element
        : never;

/** Every tail of a tuple (`[x, y]` → `[x, y] | [y] | []`): the arguments `task.s(...)` may bind. */
export type Suffixes<A extends readonly unknown[]> = number extends A["length"] ? A : SuffixesOf<A>;
type SuffixesOf<A extends readonly unknown[]> = number extends A["length"]
  ? A
  : A extends readonly []
    ? []
    : A extends readonly [unknown?, ...infer Rest]
      ? A | SuffixesOf<Rest>
      : [];

type IsUnion<T, U = T> = T extends unknown ? ([U] extends [T] ? false : true) : never;
/** True for a tuple without optional or rest elements: its remaining arguments can be computed. */
type IsFixed<A extends readonly unknown[]> = number extends A["length"]
  ? false
  : IsUnion<A["length"]> extends true
    ? false
    : true;
type DropSuffix<A extends readonly unknown[], G extends readonly unknown[]> = A["length"] extends G["length"]
  ? []
  : A extends readonly [infer Head, ...infer Tail]
    ? [Head, ...DropSuffix<Tail, G>]
    : [];

/**
 * The arguments a task with parameters `A` still takes once `G` were bound by `task.s(...G)`. Celery
 * prepends partial arguments, so bound ones are the last: `add.s(4)` leaves `[x]`. Unchecked
 * (`unknown[]`) for functions with optional or rest parameters.
 */
export type Remaining<A extends unknown[], G extends readonly unknown[]> =
  IsFixed<A> extends true ? DropSuffix<A, G> : unknown[];

/** Marks the chain step that cannot take the previous step's result (shown in the compiler's error). */
export interface ChainStepMismatch<Previous> extends Typed<[Previous], unknown, unknown> {
  /** The previous step's result, which this step's first remaining argument must accept. */
  readonly "a chain step must accept the previous step's result": Previous;
}

type CheckSteps<S extends readonly unknown[], Previous> = S extends readonly [infer Head, ...infer Tail]
  ? [
      ResultOf<Previous> extends InputOf<ParamsOf<Head>> ? Head : ChainStepMismatch<ResultOf<Previous>>,
      ...CheckSteps<Tail, Head>,
    ]
  : S;

/** The steps of a chain as written, or the first step that does not fit in place of it. */
export type CheckedChain<S extends readonly unknown[]> = S extends readonly [infer Head, ...infer Tail]
  ? [Head, ...CheckSteps<Tail, Head>]
  : S;

/** The arguments the first step of a chain still takes. */
export type FirstParams<S extends readonly unknown[]> = S extends readonly [infer First, ...unknown[]]
  ? ParamsOf<First>
  : unknown[];
/** What the last step of a chain returns. */
export type LastResult<S extends readonly unknown[]> = S extends readonly [...unknown[], infer Last]
  ? ResultOf<Last>
  : unknown;
/** The handle of the last step of a chain. */
export type LastHandle<S extends readonly unknown[]> = S extends readonly [...unknown[], infer Last]
  ? HandleOf<Last>
  : AsyncResult<unknown>;

/**
 * The results of a group's members, in order: a tuple for a tuple of signatures. A group inside a
 * group adds its members' results in its place, as Celery flattens nested groups.
 */
export type GroupResults<S extends readonly unknown[]> = S extends readonly [infer Head, ...infer Tail]
  ? Head extends Group<infer Inner, unknown[]>
    ? [...Inner, ...GroupResults<Tail>]
    : [ResultOf<Head>, ...GroupResults<Tail>]
  : S extends readonly []
    ? []
    : S extends readonly (infer Element)[]
      ? (Element extends Group<infer Inner, unknown[]> ? Inner[number] : ResultOf<Element>)[]
      : unknown[];

type AllInputs<S extends readonly unknown[]> = S extends readonly [infer Head, ...infer Tail]
  ? InputOf<ParamsOf<Head>> & AllInputs<Tail>
  : S extends readonly []
    ? unknown
    : S extends readonly (infer Element)[]
      ? InputOf<ParamsOf<Element>>
      : unknown;

/** What a group still takes: each member gets the same partial argument, so it must fit them all. */
export type GroupParams<S extends readonly unknown[]> =
  unknown extends AllInputs<S> ? unknown[] : [AllInputs<S>] extends [never] ? [] : [AllInputs<S>];

/** A chord body that cannot take the header's results (shown in the compiler's error). */
export interface ChordBodyMismatch<Results> extends Typed<[Results], unknown, unknown> {
  /** The header's results, which the body's first remaining argument must accept. */
  readonly "a chord body must accept the list of the header's results": Results;
}

/** The body as written when it accepts the header's results, else {@link ChordBodyMismatch}. */
export type CheckedBody<B, Results> = Results extends InputOf<ParamsOf<B>> ? B : ChordBodyMismatch<Results>;

/** Any result handle a workflow gives: a task's or a group's. */
export type ResultHandle = AsyncResult<unknown> | GroupResult<unknown[]>;
