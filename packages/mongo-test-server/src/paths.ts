import type { Document } from "./types.js";

/** The value at a dotted path (`"a.b.0"`), or `undefined` when any step is missing. */
export function getPath(doc: Document, path: string): unknown {
  let current: unknown = doc;
  for (const part of path.split(".")) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Document)[part];
  }
  return current;
}

/** Sets the value at a dotted path, creating the embedded documents on the way like `$set` does. */
export function setPath(doc: Document, path: string, value: unknown): void {
  const parts = path.split(".");
  const last = parts.pop()!;
  let current: Document = doc;
  for (const part of parts) {
    const next = current[part];
    if (next === null || typeof next !== "object") {
      const created: Document = {};
      current[part] = created;
      current = created;
    } else {
      current = next as Document;
    }
  }
  current[last] = value;
}
