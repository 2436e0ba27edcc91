/**
 * Field readers for incoming messages: each checks one value and names it in the error, e.g.
 * `header "id" must be a non-empty string, got number 5`. Internal to the message module.
 */
import { TqError } from "../errors.js";
import { parseIsoDateTime } from "../iso-date.js";
import type { TimeLimit } from "./types.js";

/** A `TQ_MESSAGE_INVALID` error from the message codec. */
export function invalidMessage(message: string, cause?: unknown): TqError {
  return new TqError("TQ_MESSAGE_INVALID", message, { component: "message", cause });
}

/** True for a JSON-style object (not null, not an array, not a Date or byte array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Names a value in an error: its type, and its value when short and printable. */
export function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return `array of length ${value.length}`;
  switch (typeof value) {
    case "string":
      return `string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}`;
    case "number":
    case "boolean":
    case "bigint":
      return `${typeof value} ${String(value)}`;
    default:
      return typeof value === "object" && !isRecord(value)
        ? (value.constructor?.name ?? "object")
        : typeof value;
  }
}

function mismatch(label: string, expected: string, value: unknown): TqError {
  if (value === undefined) return invalidMessage(`${label} is missing; it must be ${expected}`);
  return invalidMessage(`${label} must be ${expected}, got ${describe(value)}`);
}

/** A required non-empty string. */
export function readRequiredString(value: unknown, label: string): string {
  if (typeof value === "string" && value !== "") return value;
  throw mismatch(label, "a non-empty string", value);
}

/** A string, or null when null or absent. */
export function readNullableString(value: unknown, label: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "string") return value;
  throw mismatch(label, "a string or null", value);
}

/** A non-negative integer; `absent` is returned for a missing value, and for null when `nullable`. */
export function readCount<T extends number | null>(
  value: unknown,
  label: string,
  absent: T,
  nullable: boolean,
): number | T {
  if (value === undefined || (nullable && value === null)) return absent;
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  throw mismatch(label, `a non-negative integer${nullable ? " or null" : ""}`, value);
}

/** A boolean; false when null or absent (Python reads both as false). */
export function readFlag(value: unknown, label: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === "boolean") return value;
  throw mismatch(label, "a boolean", value);
}

/** An ISO 8601 date-time (or a Date a transport already decoded), or null when null or absent. */
export function readDate(value: unknown, label: string, naiveAs: "utc" | "local" = "utc"): Date | null {
  if (value === undefined || value === null) return null;
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value;
  const date = typeof value === "string" ? parseIsoDateTime(value, { naiveAs }) : null;
  if (date === null) throw mismatch(label, "an ISO 8601 date-time or null", value);
  return date;
}

/** `[hard, soft]` seconds, each a non-negative number or null; `[null, null]` when null or absent. */
export function readTimeLimit(value: unknown, label: string): TimeLimit {
  if (value === undefined || value === null) return [null, null];
  const isLimit = (limit: unknown): limit is number | null =>
    limit === null || (typeof limit === "number" && Number.isFinite(limit) && limit >= 0);
  if (Array.isArray(value) && value.length === 2 && isLimit(value[0]) && isLimit(value[1])) {
    return [value[0], value[1]];
  }
  const shown = Array.isArray(value) ? JSON.stringify(value).slice(0, 60) : describe(value);
  throw invalidMessage(`${label} must be [hard, soft] with non-negative numbers or null, got ${shown}`);
}

/** An array, or `absent` when absent (and when null if `nullable`). */
export function readArray<T extends unknown[] | null>(
  value: unknown,
  label: string,
  absent: T,
  nullable: boolean,
): unknown[] | T {
  if (value === undefined || (nullable && value === null)) return absent;
  if (Array.isArray(value)) return value;
  throw mismatch(label, nullable ? "an array or null" : "an array", value);
}

/** An object, or `absent` when absent (and when null if `nullable`). */
export function readRecord<T extends Record<string, unknown> | null>(
  value: unknown,
  label: string,
  absent: T,
  nullable: boolean,
): Record<string, unknown> | T {
  if (value === undefined || (nullable && value === null)) return absent;
  if (isRecord(value)) return value;
  throw mismatch(label, nullable ? "an object or null" : "an object", value);
}
