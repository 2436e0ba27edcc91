import { type DeserializeOptions, deserialize, EJSON, Long, serialize } from "bson";
import type { Document } from "./types.js";

/**
 * How every incoming document is decoded. `promoteLongs: false` keeps an int64 the client sent as a
 * `Long`, so it is stored and sent back as int64 (a real mongod keeps the type; promoting would turn it
 * into an int32 or a double on the way out). Int32 and Double still become JS numbers, because mingo's
 * operators work on numbers; the cost is that a Double with an integral value comes back as an Int32.
 */
export const DESERIALIZE_OPTIONS: DeserializeOptions = {
  promoteLongs: false,
  promoteValues: true,
  promoteBuffers: false,
};

/** Decodes one BSON document with {@link DESERIALIZE_OPTIONS}. */
export function decodeDocument(bytes: Uint8Array): Document {
  return deserialize(bytes, DESERIALIZE_OPTIONS) as Document;
}

/** A deep copy that keeps every BSON type exactly, by a round trip through BSON. */
export function cloneDocument(doc: Document): Document {
  return decodeDocument(serialize(doc));
}

/** Whether two documents are byte-for-byte the same BSON, which is how mongod decides `nModified`. */
export function sameBson(a: Document, b: Document): boolean {
  return Buffer.from(serialize(a)).equals(Buffer.from(serialize(b)));
}

function bsonType(value: unknown): string | undefined {
  if (value === null || typeof value !== "object") return undefined;
  return (value as { _bsontype?: string })._bsontype;
}

/** Whether `value` is a BSON Long (checked by tag so a second copy of `bson` still counts). */
export function isLong(value: unknown): value is Long {
  return bsonType(value) === "Long";
}

/** Whether `value` is any BSON number (JS number, Long, Int32, Double, Decimal128). */
export function isNumeric(value: unknown): boolean {
  if (typeof value === "number") return true;
  const type = bsonType(value);
  return type === "Long" || type === "Int32" || type === "Double" || type === "Decimal128";
}

/** The JS number of any BSON number (precision beyond 2^53 is lost; used only for comparing). */
export function toNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (isLong(value)) return value.toNumber();
  return Number(String(value));
}

/**
 * A copy of `value` that mingo can compare: Long and Decimal128 become numbers, because mingo orders
 * values of different JS types by type and would never see `Long(5) > 3`. Returns `value` itself when
 * nothing needs converting, so documents without such values cost no copy.
 */
export function toMatchable(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const converted = toMatchable(item);
      if (converted !== item) {
        copy ??= value.slice();
        copy[i] = converted;
      }
    });
    return copy ?? value;
  }
  const type = bsonType(value);
  if (type === "Long" || type === "Decimal128" || type === "Int32" || type === "Double")
    return toNumber(value);
  if (type !== undefined || value instanceof Date || value instanceof RegExp) return value;
  let copy: Document | undefined;
  for (const [key, item] of Object.entries(value)) {
    const converted = toMatchable(item);
    if (converted !== item) {
      copy ??= { ...(value as Document) };
      copy[key] = converted;
    }
  }
  return copy ?? value;
}

/**
 * A string that is equal for two values exactly when mongod's index would treat them as the same key:
 * numbers compare by value whatever their BSON type, everything else by type and content.
 */
export function valueKey(value: unknown): string {
  if (value === undefined || value === null) return "null";
  if (isNumeric(value)) return `n:${toNumber(value)}`;
  if (typeof value === "string") return `s:${value}`;
  if (typeof value === "boolean") return `b:${value}`;
  if (value instanceof Date) return `d:${value.getTime()}`;
  if (bsonType(value) === "ObjectId") return `o:${String(value)}`;
  return `j:${EJSON.stringify({ v: value } as Document, { relaxed: true })}`;
}

/** A value written the way mongod writes it in an error message (`"abc"`, `ObjectId('…')`, `5`). */
export function formatValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (bsonType(value) === "ObjectId") return `ObjectId('${String(value)}')`;
  if (value instanceof Date) return `new Date(${value.getTime()})`;
  if (value === undefined || value === null) return "null";
  if (isNumeric(value)) return String(value);
  return EJSON.stringify({ v: value } as Document, { relaxed: true }).slice(5, -1);
}

/** Adds two BSON numbers the way `$inc` does: an int64 operand keeps the result int64 unless a double joins. */
export function addNumbers(current: unknown, increment: unknown): unknown {
  const bothIntegral = Number.isInteger(toNumber(current)) && Number.isInteger(toNumber(increment));
  if ((isLong(current) || isLong(increment)) && bothIntegral) {
    return Long.fromValue(longOf(current)).add(longOf(increment));
  }
  return toNumber(current) + toNumber(increment);
}

function longOf(value: unknown): Long {
  return isLong(value) ? value : Long.fromNumber(toNumber(value));
}
