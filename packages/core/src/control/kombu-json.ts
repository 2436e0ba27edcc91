/**
 * JSON written the way kombu writes it (Python's `json.dumps` defaults: `", "` and `": "` separators,
 * non-ASCII escaped as `\uXXXX`), so a control message sent by tq has the same bytes as one sent by
 * Celery. Only for plain JSON values (remote-control bodies); task bodies use the app's serializer.
 */
export function kombuJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return asciiOnly(JSON.stringify(value));
  if (typeof value === "number") return Number.isFinite(value) ? JSON.stringify(value) : "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (Array.isArray(value)) return `[${value.map(kombuJson).join(", ")}]`;
  if (typeof value === "object") {
    const fields = Object.entries(value as Record<string, unknown>)
      .filter(([, field]) => field !== undefined)
      .map(([key, field]) => `${asciiOnly(JSON.stringify(key))}: ${kombuJson(field)}`);
    return `{${fields.join(", ")}}`;
  }
  // bigint, function, symbol: JSON has no form for them; a control body never holds one.
  return "null";
}

// Python's ensure_ascii=True: every code unit above 0x7f as \uXXXX (surrogate pairs stay two escapes).
function asciiOnly(text: string): string {
  return text.replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
