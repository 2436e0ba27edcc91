import { Aggregator, update as mingoUpdate } from "mingo";
import { addNumbers, cloneDocument, formatValue, isNumeric, valueKey } from "./bson-values.js";
import { CommandError } from "./errors.js";
import { getPath, setPath } from "./paths.js";
import type { Document } from "./types.js";

/** The update operators mongod has that mingo implements (plus `$inc` and `$setOnInsert`, done here). */
const MODIFIERS = new Set([
  "$set",
  "$unset",
  "$inc",
  "$setOnInsert",
  "$push",
  "$pull",
  "$pullAll",
  "$addToSet",
  "$pop",
  "$min",
  "$max",
  "$mul",
  "$rename",
  "$currentDate",
  "$bit",
]);

/** Whether `update` uses operators (`{ $set: … }`) rather than being a replacement document. */
export function isOperatorUpdate(update: Document | Document[]): boolean {
  return Array.isArray(update) || Object.keys(update).some((key) => key.startsWith("$"));
}

/** Options of one update applied to one document. */
export interface ApplyOptions {
  /** True when the document is being created by an upsert, which is when `$setOnInsert` applies. */
  inserting?: boolean;
  arrayFilters?: Document[] | undefined;
}

/**
 * Returns the updated copy of `original` (which is left untouched, so a write that then fails a unique
 * index changes nothing). Handles replacement documents, operator updates and pipeline updates.
 */
export function applyUpdate(original: Document, update: Document | Document[], options: ApplyOptions = {}) {
  let next: Document;
  if (Array.isArray(update)) {
    // Pipeline-style updates are $set/$unset/$project/$replaceWith stages: an aggregation of one document.
    next = new Aggregator(update, {}).run([cloneDocument(original)])[0] as Document;
  } else if (!isOperatorUpdate(update)) {
    next = replacement(original, update);
  } else {
    next = cloneDocument(original);
    applyOperators(next, update, options);
  }
  if (original._id !== undefined && valueKey(next._id) !== valueKey(original._id)) {
    throw new CommandError(
      "ImmutableField",
      `Performing an update on the path '_id' would modify the immutable field '_id'`,
    );
  }
  return next;
}

function replacement(original: Document, update: Document): Document {
  const { _id, ...fields } = cloneDocument(update);
  const id = _id ?? original._id;
  if (original._id !== undefined && _id !== undefined && valueKey(_id) !== valueKey(original._id)) {
    throw new CommandError(
      "ImmutableField",
      `After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${formatValue(_id)}`,
    );
  }
  return id === undefined ? fields : { _id: id, ...fields };
}

function applyOperators(doc: Document, update: Document, options: ApplyOptions): void {
  const rest: Document = {};
  for (const [operator, fields] of Object.entries(update)) {
    if (!MODIFIERS.has(operator)) {
      throw new CommandError(
        "FailedToParse",
        `Unknown modifier: ${operator}. Expected a valid update modifier or pipeline-style update specified as an array`,
      );
    }
    if (operator === "$inc") increment(doc, fields as Document);
    else if (operator === "$setOnInsert") {
      if (options.inserting) rest.$set = { ...((rest.$set as Document) ?? {}), ...(fields as Document) };
    } else if (operator === "$set")
      rest.$set = { ...(fields as Document), ...((rest.$set as Document) ?? {}) };
    else rest[operator] = fields;
  }
  // `$set: { _id: <same value> }` is allowed by mongod (it changes nothing); mingo refuses any _id path.
  const set = rest.$set as Document | undefined;
  if (set && "_id" in set && valueKey(set._id) === valueKey(doc._id)) {
    const { _id, ...others } = set;
    rest.$set = others;
  }
  if (Object.keys(rest).length === 0) return;
  try {
    mingoUpdate(doc, rest, options.arrayFilters, undefined, { cloneMode: "deep" });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (message.includes("immutable field"))
      throw new CommandError("ImmutableField", message.replace(/\.$/, ""));
    throw error;
  }
}

/** `$inc` done here rather than by mingo, so an int64 field stays int64 (mingo knows JS numbers only). */
function increment(doc: Document, fields: Document): void {
  for (const [path, amount] of Object.entries(fields)) {
    if (!isNumeric(amount)) {
      throw new CommandError(
        "TypeMismatch",
        `Cannot increment with non-numeric argument: {${path}: ${formatValue(amount)}}`,
      );
    }
    const current = getPath(doc, path);
    if (current !== undefined && !isNumeric(current)) {
      throw new CommandError(
        "TypeMismatch",
        `Cannot apply $inc to a value of non-numeric type. {_id: ${formatValue(doc._id)}} has the field '${path}' of non-numeric type ${typeof current}`,
      );
    }
    setPath(doc, path, current === undefined ? amount : addNumbers(current, amount));
  }
}

/**
 * The document an upsert starts from: the filter's equality conditions (`{a: 1}`, `{a: {$eq: 1}}`, and
 * those inside `$and`), as mongod seeds it before applying the update.
 */
export function upsertSeed(filter: Document): Document {
  const seed: Document = {};
  const collect = (conditions: Document) => {
    for (const [key, condition] of Object.entries(conditions)) {
      if (key === "$and" && Array.isArray(condition)) {
        for (const part of condition) collect(part as Document);
      } else if (!key.startsWith("$")) {
        const value = equalityValue(condition);
        if (value !== undefined) setPath(seed, key, value);
      }
    }
  };
  collect(filter);
  return seed;
}

function equalityValue(condition: unknown): unknown {
  if (condition === null || typeof condition !== "object" || Array.isArray(condition)) return condition;
  if ((condition as { _bsontype?: string })._bsontype || condition instanceof Date) return condition;
  if (condition instanceof RegExp) return undefined;
  const keys = Object.keys(condition);
  if (keys.length === 1 && keys[0] === "$eq") return (condition as Document).$eq;
  return keys.some((key) => key.startsWith("$")) ? undefined : condition;
}

/** Builds the document an upsert inserts: the seed from the filter, then the update applied to it. */
export function upsertDocument(filter: Document, update: Document | Document[], arrayFilters?: Document[]) {
  const seed = upsertSeed(filter);
  if (!isOperatorUpdate(update)) {
    const doc = replacement({}, update as Document);
    return doc._id === undefined && seed._id !== undefined ? { _id: seed._id, ...doc } : doc;
  }
  const doc = applyUpdate(seed, update, { inserting: true, arrayFilters });
  return doc;
}
