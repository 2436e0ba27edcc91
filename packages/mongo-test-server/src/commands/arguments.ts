import { checkCollectionName } from "../store.js";
import type { Document } from "../types.js";

/** The collection a command names in its first field (`{ find: "tasks", … }`), checked like mongod does. */
export function collectionArgument(command: Document, commandName: string): string {
  const name = command[commandName];
  checkCollectionName(name);
  return name;
}

/** An optional sub-document argument (`filter`, `sort`, `projection`…), `undefined` when absent or null. */
export function documentArgument(command: Document, field: string): Document | undefined {
  const value = command[field];
  return value === null || typeof value !== "object" ? undefined : (value as Document);
}

/** An optional numeric argument (the driver may send int32, double or int64). */
export function numberArgument(command: Document, field: string): number | undefined {
  const value = command[field];
  if (value === undefined || value === null) return undefined;
  return Number(typeof value === "object" ? String(value) : value);
}
