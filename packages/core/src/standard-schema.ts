/**
 * The Standard Schema V1 interface (https://standardschema.dev), which zod (≥3.24), valibot (≥1),
 * arktype (≥2) and others implement. The specification asks libraries that accept schemas to copy
 * these types rather than depend on `@standard-schema/spec`, so @tq/core keeps no runtime or type
 * dependency: they follow `@standard-schema/spec` 1.x (MIT, by Colin McDonnell, Fabian Hiller and
 * David Blass), namespace and member names unchanged, so schemas of any of those libraries fit.
 */

/** A schema any Standard Schema library can produce: `schema["~standard"].validate(value)`. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The Standard Schema properties. */
  readonly "~standard": StandardSchemaV1.Props<Input, Output>;
}

// A namespace, not modules, so these names match the specification's and its users'.
export declare namespace StandardSchemaV1 {
  /** The Standard Schema properties. */
  export interface Props<Input = unknown, Output = Input> {
    /** The version number of the standard. */
    readonly version: 1;
    /** The vendor name of the schema library. */
    readonly vendor: string;
    /** Validates an unknown value: the output value, or the issues. May be async. */
    readonly validate: (value: unknown) => Result<Output> | Promise<Result<Output>>;
    /** Inferred types associated with the schema (types only, never set at run time). */
    readonly types?: Types<Input, Output> | undefined;
  }

  /** What `validate` returns. */
  export type Result<Output> = SuccessResult<Output> | FailureResult;

  /** A successful validation. */
  export interface SuccessResult<Output> {
    /** The typed output value. */
    readonly value: Output;
    /** No issues. */
    readonly issues?: undefined;
  }

  /** A failed validation. */
  export interface FailureResult {
    /** The issues found. */
    readonly issues: ReadonlyArray<Issue>;
  }

  /** One problem found in the value. */
  export interface Issue {
    /** What is wrong, in the library's words. */
    readonly message: string;
    /** Where in the value, if anywhere in particular. */
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined;
  }

  /** A step of an issue's path. */
  export interface PathSegment {
    /** The key. */
    readonly key: PropertyKey;
  }

  /** The input and output types of a schema. */
  export interface Types<Input = unknown, Output = Input> {
    /** What it accepts. */
    readonly input: Input;
    /** What it produces. */
    readonly output: Output;
  }

  /** The input type of a schema. */
  export type InferInput<Schema extends StandardSchemaV1> = NonNullable<
    Schema["~standard"]["types"]
  >["input"];

  /** The output type of a schema. */
  export type InferOutput<Schema extends StandardSchemaV1> = NonNullable<
    Schema["~standard"]["types"]
  >["output"];
}
