import { redactUrl } from "@tq/core";
import { configError } from "./errors.js";

/** The URL schemes this package serves. */
export const MONGO_SCHEMES = ["mongodb", "mongodb+srv"] as const;

/** What tq reads from a MongoDB URL itself; everything else is the driver's business. */
export interface ParsedMongoUrl {
  /** The database named by the URL's path, or undefined when it names none. */
  database: string | undefined;
  /** Whether the URL sets `serverSelectionTimeoutMS` itself. */
  setsServerSelectionTimeout: boolean;
}

/**
 * Reads the database name and a few options from a `mongodb://` or `mongodb+srv://` URL without
 * resolving anything. WHATWG `URL` cannot parse these (a seed list `h1:27017,h2:27017` is not a host),
 * so the path is found by hand: the first `/` after the authority, up to `?`.
 * @throws TqError `TQ_CONFIG` for another scheme or a database name MongoDB would refuse.
 */
export function parseMongoUrl(url: string): ParsedMongoUrl {
  const match = /^(mongodb(?:\+srv)?):\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?/i.exec(url);
  if (!match) {
    throw configError(`"${redactUrl(url)}" is not a mongodb:// or mongodb+srv:// URL`);
  }
  const path = match[3] ?? "";
  let database: string | undefined;
  if (path.length > 1) {
    try {
      database = decodeURIComponent(path.slice(1));
    } catch (cause) {
      throw configError(
        `the database name in "${redactUrl(url)}" is not valid percent-encoding: ${String(cause)}`,
      );
    }
    checkDatabaseName(database);
  }
  const query = new URLSearchParams((match[4] ?? "").slice(1));
  const setsServerSelectionTimeout = [...query.keys()].some(
    (key) => key.toLowerCase() === "serverselectiontimeoutms",
  );
  return { database, setsServerSelectionTimeout };
}

/** Throws `TQ_CONFIG` for a database name MongoDB does not accept. */
export function checkDatabaseName(name: string): void {
  if (name === "" || /[/\\. "$*<>:|?\0]/.test(name) || Buffer.byteLength(name) > 63) {
    throw configError(`"${name}" is not a valid MongoDB database name`);
  }
}
