/**
 * Python-style `repr()` of JS values, close to Celery's `saferepr`, for the `argsrepr` and
 * `kwargsrepr` headers that logs, events and Flower show.
 */

/** Options of {@link pyRepr}. */
export interface PyReprOptions {
  /**
   * Stop after about this many characters and end with `, ...` and the pending closing brackets;
   * long strings are cut with `...`. Celery's `argsrepr_maxsize` / `kwargsrepr_maxsize`.
   * @default 1024
   */
  maxLength?: number;
  /** Containers nested this deep print as `[...]` / `{...}` (saferepr's `maxlevels`). @default 3 */
  maxLevels?: number;
}

const DEFAULT_MAX_LENGTH = 1024;
const DEFAULT_MAX_LEVELS = 3;
const NEEDS_ESCAPE = /[\\'"\p{C}\p{Z}]/u;
const NON_PRINTABLE = /^[\p{C}\p{Z}]$/u;

/** A tuple marker: JS has none, but Celery's args are a tuple. */
class Tuple {
  constructor(readonly items: readonly unknown[]) {}
}

/**
 * Python's `repr()` of a value as Celery's `saferepr` prints it, with a length limit:
 * `None`, `True`/`False`, `'text'` (double quotes when the text has a `'` and no `"`, as Python does),
 * `[1, 2]`, `{'y': 5}`, `{1, 2}` / `set()` for a `Set`, `b'..'` for a `Uint8Array`,
 * `datetime.datetime(…, tzinfo=datetime.timezone.utc)` for a `Date`, `Name('message')` for an `Error`.
 * Numbers print as Python prints an `int` when integral (JS cannot tell `1.0` from `1`) and as a Python
 * `float` otherwise (`1e-05`, `nan`, `inf`). Other objects print as dicts of their own enumerable keys;
 * a circular reference prints as `[...]` / `{...}`. Never throws.
 */
export function pyRepr(value: unknown, options: PyReprOptions = {}): string {
  const writer = new ReprWriter(options);
  writer.start(value);
  return writer.result();
}

/** `repr()` of positional arguments as the tuple Celery's `argsrepr` shows: `()`, `(4,)`, `(2, 3)`. */
export function argsRepr(args: readonly unknown[], options: PyReprOptions = {}): string {
  return pyRepr(new Tuple(args), options);
}

/** `repr()` of keyword arguments as Celery's `kwargsrepr` shows: `{}`, `{'y': 5}`. */
export function kwargsRepr(kwargs: Readonly<Record<string, unknown>>, options: PyReprOptions = {}): string {
  return pyRepr(kwargs, options);
}

class ReprWriter {
  readonly #parts: string[] = [];
  readonly #closers: string[] = [];
  readonly #seen = new Set<object>();
  readonly #maxLevels: number;
  #remaining: number;
  #full = false;

  constructor(options: PyReprOptions) {
    this.#remaining = options.maxLength ?? DEFAULT_MAX_LENGTH;
    this.#maxLevels = options.maxLevels ?? DEFAULT_MAX_LEVELS;
  }

  result(): string {
    const text = this.#parts.join("");
    if (!this.#full) return text;
    // Close what was open, like saferepr's "dangling parens".
    return `${text}${text === "" ? "..." : ", ..."}${[...this.#closers].reverse().join("")}`;
  }

  start(value: unknown): void {
    if (this.#remaining <= 0) this.#full = true;
    else this.value(value, 0);
  }

  value(value: unknown, level: number): void {
    // The budget is checked at separators only, so a started item is always complete (or cut).
    if (this.#full) return;
    if (typeof value === "string") this.#write(pyStr(this.#cut(value)));
    else if (value instanceof Uint8Array) this.#write(pyBytes(this.#cut(value)));
    else if (typeof value !== "object" || value === null || value instanceof Date || value instanceof Error) {
      this.#write(scalarRepr(value));
    } else if (value instanceof Tuple) {
      this.#sequence(value, value.items, "(", value.items.length === 1 ? ",)" : ")", level);
    } else if (Array.isArray(value)) this.#sequence(value, value, "[", "]", level);
    else if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      this.#sequence(value, value as unknown as Iterable<unknown>, "[", "]", level);
    } else if (value instanceof Set) {
      if (value.size === 0) this.#write("set()");
      else this.#sequence(value, value, "{", "}", level);
    } else this.#mapping(value, value instanceof Map ? value.entries() : Object.entries(value), level);
  }

  #sequence(owner: object, items: Iterable<unknown>, open: string, close: string, level: number): void {
    if (!this.#enter(owner, open, close, level)) return;
    let first = true;
    for (const item of items) {
      if (!first && !this.#separator()) return;
      first = false;
      this.value(item, level + 1);
      if (this.#full) return;
    }
    this.#leave(owner);
  }

  #mapping(owner: object, entries: Iterable<[unknown, unknown]>, level: number): void {
    if (!this.#enter(owner, "{", "}", level)) return;
    let first = true;
    for (const [key, item] of entries) {
      if (!first && !this.#separator()) return;
      first = false;
      this.value(key, level + 1);
      this.#write(": ");
      this.value(item, level + 1);
      if (this.#full) return;
    }
    this.#leave(owner);
  }

  /** Opens a container; false when it printed as an ellipsis instead. */
  #enter(owner: object, open: string, close: string, level: number): boolean {
    if (level >= this.#maxLevels || this.#seen.has(owner)) {
      this.#write(`${open}...${close === ",)" ? ")" : close}`);
      return false;
    }
    this.#seen.add(owner);
    this.#closers.push(close);
    this.#write(open);
    return true;
  }

  #leave(owner: object): void {
    this.#seen.delete(owner);
    this.#write(this.#closers.pop() ?? "");
  }

  /** Writes `, ` unless the budget is spent, which ends the output. */
  #separator(): boolean {
    if (this.#remaining <= 0) {
      this.#full = true;
      return false;
    }
    this.#write(", ");
    return true;
  }

  /** Cuts a long string or byte array to the remaining budget, marking the cut with `...`. */
  #cut<T extends string | Uint8Array>(value: T): T {
    const budget = Math.max(this.#remaining, 1);
    if (value.length <= budget) return value;
    if (typeof value === "string") return `${value.slice(0, budget)}...` as T;
    const cut = new Uint8Array(budget + 3);
    cut.set(value.subarray(0, budget));
    cut.set([0x2e, 0x2e, 0x2e], budget);
    return cut as T;
  }

  #write(text: string): void {
    this.#parts.push(text);
    this.#remaining -= text.length;
  }
}

function scalarRepr(value: unknown): string {
  switch (typeof value) {
    case "undefined":
      return "None";
    case "boolean":
      return value ? "True" : "False";
    case "number":
      return pyNumber(value);
    case "bigint":
      return value.toString();
    case "function":
      return `<function ${value.name || "<anonymous>"}>`;
    case "symbol":
      return `<${value.toString()}>`;
  }
  if (value instanceof Date) return pyDatetime(value);
  if (value instanceof Error) return `${value.name}(${value.message === "" ? "" : pyStr(value.message)})`;
  return "None";
}

/** Python's int repr for integral numbers, its float repr (shortest round-trip digits) otherwise. */
function pyNumber(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (Number.isInteger(value)) return Math.abs(value) < 1e21 ? String(value) : BigInt(value).toString();
  // Python switches to exponent notation below 1e-4 (JS below 1e-6) and pads the exponent to 2 digits.
  const [mantissa = "", exponent = "0"] = value.toExponential().split("e");
  const power = Number(exponent);
  if (power >= -4) return String(value);
  return `${mantissa}e-${String(-power).padStart(2, "0")}`;
}

function pyStr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  if (!NEEDS_ESCAPE.test(text)) return quote + text + quote;
  let out = quote;
  for (const char of text) {
    if (char === "\\") out += "\\\\";
    else if (char === quote) out += `\\${quote}`;
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (char === "\t") out += "\\t";
    else if (char !== " " && NON_PRINTABLE.test(char)) out += escapeCodePoint(char.codePointAt(0) ?? 0);
    else out += char;
  }
  return out + quote;
}

function escapeCodePoint(code: number): string {
  const hex = code.toString(16);
  if (code <= 0xff) return `\\x${hex.padStart(2, "0")}`;
  if (code <= 0xffff) return `\\u${hex.padStart(4, "0")}`;
  return `\\U${hex.padStart(8, "0")}`;
}

function pyBytes(bytes: Uint8Array): string {
  const quote = bytes.includes(0x27) && !bytes.includes(0x22) ? '"' : "'";
  let out = `b${quote}`;
  for (const byte of bytes) {
    const char = String.fromCharCode(byte);
    if (char === "\\" || char === quote) out += `\\${char}`;
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (char === "\t") out += "\\t";
    else if (byte < 0x20 || byte > 0x7e) out += `\\x${byte.toString(16).padStart(2, "0")}`;
    else out += char;
  }
  return out + quote;
}

/** `datetime.datetime(2026, 11, 24, 0, 24, 42, 849000, tzinfo=datetime.timezone.utc)`, as Python prints it. */
function pyDatetime(date: Date): string {
  if (Number.isNaN(date.getTime())) return "<Invalid Date>";
  const fields = [
    date.getUTCFullYear(),
    date.getUTCMonth() + 1,
    date.getUTCDate(),
    date.getUTCHours(),
    date.getUTCMinutes(),
  ];
  const seconds = date.getUTCSeconds();
  const micros = date.getUTCMilliseconds() * 1000;
  // Python omits zero trailing fields, but always shows hour and minute.
  if (micros !== 0) fields.push(seconds, micros);
  else if (seconds !== 0) fields.push(seconds);
  return `datetime.datetime(${fields.join(", ")}, tzinfo=datetime.timezone.utc)`;
}
