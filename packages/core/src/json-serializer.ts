/**
 * Celery's default serializer, `json`, compatible with what kombu writes and reads: kombu ≥5.3 tags
 * datetimes, decimals, UUIDs and bytes as `{"__type__": …, "__value__": …}` (celery-protocol.md §1.5),
 * and Python's `json` writes `NaN` and `Infinity` as bare tokens.
 */
import { Buffer } from "node:buffer";
import { randomUUID } from "node:crypto";
import { TqError } from "./errors.js";
import { formatIsoDateTime, parseIsoDateTime } from "./iso-date.js";
import type { Serializer } from "./serializer.js";

/** Options of {@link createJsonSerializer}. */
export interface JsonSerializerOptions {
  /**
   * Write a `Date` as kombu ≥5.3's tagged `{"__type__": "datetime", "__value__": "<iso>"}`, which a
   * Python task receives as a `datetime`. Off, a `Date` is a plain ISO string (`…+00:00`), which every
   * kombu version reads, as a `str`.
   * @default false
   */
  taggedTypes?: boolean;
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UUID_HEX = /^[0-9a-f]{32}$/;

/**
 * Creates a JSON serializer (`application/json`, `utf-8`, Celery name `json`).
 *
 * Decoding reads UTF-8 JSON plus Python's `NaN`, `Infinity` and `-Infinity` tokens, and turns every
 * object whose keys are exactly `__type__` and `__value__` into a JS value:
 * - `datetime` → `Date` (a naive value is read as UTC; digits past milliseconds are dropped);
 * - `date`, `time` → the ISO string unchanged (JS has no date-only or time-only type);
 * - `decimal` → its string, so no precision is lost;
 * - `uuid` → the canonical `8-4-4-4-12` lower-case string;
 * - `bytes` (UTF-8 text) and `base64` → `Uint8Array`;
 * - any other `__type__` (a Python app's own `register_type`) is left as the `{__type__, __value__}`
 *   object, so a task can still read it.
 * Integers beyond 2^53 lose precision, as with `JSON.parse`.
 *
 * Encoding follows `JSON.stringify` (functions, symbols and `undefined` are dropped from objects and
 * become `null` in arrays; `NaN` and `±Infinity` become `null`; a top-level `undefined` is `null`),
 * except that a `Date` is written with a `+00:00` offset and microseconds (or tagged, see
 * {@link JsonSerializerOptions.taggedTypes}), a `Uint8Array` (or `Buffer`) is written as a tagged
 * `base64` value, because plain JSON has no bytes and an array of numbers would reach Python as a list,
 * and a `bigint` is written as a number when it is a safe integer.
 * A circular structure, an unsafe `bigint` or an invalid `Date` throws a `TQ_SERIALIZATION` error.
 */
export function createJsonSerializer(options: JsonSerializerOptions = {}): Serializer {
  const taggedTypes = options.taggedTypes ?? false;

  function replacer(this: unknown, key: string, value: unknown): unknown {
    // `value` already went through toJSON (a Date is a Z string by then): look at the raw one.
    const raw = (this as Record<string, unknown>)[key];
    if (raw instanceof Date) {
      const iso = encodeDate(raw, key);
      return taggedTypes ? { __type__: "datetime", __value__: iso } : iso;
    }
    if (raw instanceof Uint8Array) {
      const base64 = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("base64");
      return { __type__: "base64", __value__: base64 };
    }
    if (typeof value === "bigint") {
      if (value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)) {
        return Number(value);
      }
      throw serializationError(
        `cannot encode ${where(key)}: bigint ${value} is outside the safe integer range and JSON numbers would lose its precision`,
      );
    }
    return value;
  }

  return Object.freeze({
    contentType: "application/json",
    contentEncoding: "utf-8",
    name: "json",
    encode(value: unknown): Uint8Array {
      let text: string | undefined;
      try {
        // A replacer makes stringify many times slower; most values (plain data) do not need one.
        text = needsReplacer(value, 0) ? JSON.stringify(value, replacer) : JSON.stringify(value);
      } catch (error) {
        if (TqError.is(error)) throw error;
        const detail = error instanceof Error ? error.message.replace(/\s*\n\s*/g, " ") : String(error);
        const reason = /circular/i.test(detail)
          ? "it contains a circular reference"
          : "JSON.stringify failed";
        throw serializationError(`cannot encode value as JSON: ${reason} (${detail})`, error);
      }
      return utf8Encoder.encode(text ?? "null");
    },
    decode(data: Uint8Array): unknown {
      let text: string;
      try {
        text = utf8Decoder.decode(data);
      } catch (error) {
        throw serializationError(`JSON data is not valid UTF-8 (${data.byteLength} bytes)`, error);
      }
      return parseJsonText(text);
    },
  });
}

/** The default JSON serializer: plain ISO strings for dates (see {@link createJsonSerializer}). */
export const jsonSerializer: Serializer = createJsonSerializer();

const MAX_SCAN_DEPTH = 200;

/**
 * True when the value holds something the replacer handles (Date, bytes, bigint), or something whose
 * toJSON may return one. Deep (or circular) values are left to the replacer path, which reports cycles.
 */
function needsReplacer(value: unknown, depth: number): boolean {
  if (typeof value === "bigint") return true;
  if (typeof value !== "object" || value === null) return false;
  if (depth > MAX_SCAN_DEPTH || value instanceof Date || ArrayBuffer.isView(value)) return true;
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return true;
  if (Array.isArray(value)) {
    for (const item of value) if (needsReplacer(item, depth + 1)) return true;
    return false;
  }
  for (const key of Object.keys(value)) {
    if (needsReplacer((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}

function parseJsonText(text: string): unknown {
  const tagged = text.includes("__type__");
  try {
    return tagged ? JSON.parse(text, reviveTagged) : JSON.parse(text);
  } catch (error) {
    if (TqError.is(error)) throw error;
    // Only now look for Python's non-standard tokens, so standard JSON pays nothing for them.
    const nonce = `tq-nonfinite-${randomUUID()}:`;
    const rewritten = rewriteNonFiniteTokens(text, nonce);
    if (rewritten === null) throw syntaxError(error, "");
    const reviveNonFinite = (_key: string, value: unknown): unknown => {
      if (typeof value === "string" && value.startsWith(nonce)) {
        const token = value.slice(nonce.length);
        return token === "NaN" ? Number.NaN : token === "Infinity" ? Infinity : -Infinity;
      }
      return tagged ? reviveTagged(_key, value) : value;
    };
    try {
      return JSON.parse(rewritten, reviveNonFinite);
    } catch (retryError) {
      if (TqError.is(retryError)) throw retryError;
      throw syntaxError(retryError, " (positions count NaN/Infinity as quoted strings)");
    }
  }
}

/**
 * Replaces `NaN`, `Infinity` and `-Infinity` outside strings with quoted placeholders.
 * Outside strings these letters cannot belong to any valid JSON token, so no context is needed.
 * @returns null when the text has none.
 */
function rewriteNonFiniteTokens(text: string, nonce: string): string | null {
  const parts: string[] = [];
  let copiedUpTo = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22) {
      // Skip a string literal, escapes included.
      i++;
      while (i < text.length && text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c ? 2 : 1;
      continue;
    }
    const token = text.startsWith("NaN", i)
      ? "NaN"
      : text.startsWith("Infinity", i)
        ? "Infinity"
        : text.startsWith("-Infinity", i)
          ? "-Infinity"
          : null;
    if (token === null) continue;
    parts.push(text.slice(copiedUpTo, i), `"${nonce}${token}"`);
    i += token.length - 1;
    copiedUpTo = i + 1;
  }
  if (parts.length === 0) return null;
  parts.push(text.slice(copiedUpTo));
  return parts.join("");
}

function reviveTagged(_key: string, value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  if (keys.length !== 2 || !Object.hasOwn(value, "__type__") || !Object.hasOwn(value, "__value__")) {
    return value;
  }
  const { __type__: type, __value__: tagged } = value as { __type__: unknown; __value__: unknown };
  switch (type) {
    case "datetime": {
      const text = expectString(type, tagged);
      const date = parseIsoDateTime(text);
      if (date === null) throw serializationError(`tagged datetime ${JSON.stringify(text)} is not ISO 8601`);
      return date;
    }
    case "date":
    case "time":
    case "decimal":
      return expectString(type, tagged);
    case "uuid":
      return decodeUuid(tagged);
    case "bytes":
      return utf8Encoder.encode(expectString(type, tagged));
    case "base64": {
      const text = expectString(type, tagged);
      if (!BASE64.test(text)) throw serializationError(`tagged base64 value is not valid base64`);
      return new Uint8Array(Buffer.from(text, "base64"));
    }
    default:
      return value;
  }
}

function decodeUuid(tagged: unknown): string {
  const raw =
    typeof tagged === "string"
      ? tagged
      : typeof tagged === "object" && tagged !== null && typeof (tagged as { hex?: unknown }).hex === "string"
        ? (tagged as { hex: string }).hex
        : null;
  if (raw === null) {
    throw serializationError(
      `tagged uuid value must be a string or {"hex": string}, got ${typeName(tagged)}`,
    );
  }
  // The forms Python's UUID(hex=…) accepts: optional urn:uuid: prefix, braces and dashes.
  const hex = raw
    .replace(/^urn:uuid:/i, "")
    .replace(/^\{(.*)\}$/, "$1")
    .replaceAll("-", "")
    .toLowerCase();
  if (!UUID_HEX.test(hex))
    throw serializationError(`tagged uuid ${JSON.stringify(raw)} is not 32 hex digits`);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function expectString(type: string, tagged: unknown): string {
  if (typeof tagged === "string") return tagged;
  throw serializationError(`tagged ${type} value must be a string, got ${typeName(tagged)}`);
}

function encodeDate(date: Date, key: string): string {
  try {
    return formatIsoDateTime(date);
  } catch (error) {
    throw serializationError(`cannot encode ${where(key)}: ${(error as Error).message}`, error);
  }
}

function where(key: string): string {
  return key === "" ? "the value" : `key ${JSON.stringify(key)}`;
}

function syntaxError(error: unknown, note: string): TqError {
  const detail = error instanceof Error ? error.message : String(error);
  return serializationError(`data is not valid JSON${note}: ${detail}`, error);
}

function serializationError(message: string, cause?: unknown): TqError {
  return new TqError("TQ_SERIALIZATION", message, { component: "json", cause });
}

function typeName(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
}
